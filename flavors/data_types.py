"""`DataType`: MLflow's enum of column and param types, over the names `signature.py` uses.

A member is a `str` (`DataType.double == "double"`), so `ColSpec(DataType.double, "x")` and
`ColSpec("double", "x")` are the same spec and serialize the same way.
"""

from __future__ import annotations

import enum

import numpy as np

from shipyard.flavors.signature import COLUMN_TYPES


class DataType(enum.StrEnum):
    """The scalar types of a `ColSpec` or `ParamSpec` (MLflow's `mlflow.types.DataType`)."""

    boolean = "boolean"
    integer = "integer"
    long = "long"
    float = "float"
    double = "double"
    string = "string"
    binary = "binary"
    datetime = "datetime"

    def to_numpy(self) -> np.dtype:
        """The numpy dtype a column of this type becomes."""
        return COLUMN_TYPES[self.value]


__all__ = ["DataType"]
