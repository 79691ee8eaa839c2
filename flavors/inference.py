"""Infer a `ModelSignature` from example data, with MLflow's mapping of dtypes to schema types.

DataFrames, dicts of lists and lists of dicts give column schemas (a column with nulls is marked
optional); numpy arrays and dicts of arrays give tensor schemas with a variable first dimension.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from shipyard.exceptions import InvalidInput
from shipyard.flavors.conversion import numpy_dtype_of
from shipyard.flavors.signature import (
    ColSpec,
    ModelSignature,
    ParamSchema,
    ParamSpec,
    Schema,
    TensorSpec,
)


def infer_signature(
    model_input: Any = None, model_output: Any = None, params: dict[str, Any] | None = None
) -> ModelSignature:
    """Signature from an example input, output and params; a part given as None stays None."""
    return ModelSignature(
        inputs=infer_schema(model_input) if model_input is not None else None,
        outputs=infer_schema(model_output) if model_output is not None else None,
        params=infer_param_schema(params) if params else None,
    )


def infer_schema(data: Any) -> Schema:
    """Schema of one example; raises InvalidInput naming what cannot be described."""
    if isinstance(data, pd.DataFrame):
        return Schema([_colspec(data[c], str(c)) for c in data.columns])
    if isinstance(data, pd.Series):
        return Schema([_colspec(data, str(data.name) if data.name is not None else None)])
    if isinstance(data, np.ndarray):
        return Schema([_tensorspec(data, None)])
    if isinstance(data, dict):
        if not data:
            raise InvalidInput("cannot infer a schema from an empty dict")
        if all(isinstance(v, np.ndarray) for v in data.values()):
            return Schema([_tensorspec(v, str(k)) for k, v in data.items()])
        return infer_schema(pd.DataFrame({k: _as_column(v) for k, v in data.items()}))
    if isinstance(data, list):
        if not data:
            raise InvalidInput("cannot infer a schema from an empty list")
        if all(isinstance(r, dict) for r in data):
            return infer_schema(pd.DataFrame.from_records(data))
        if all(isinstance(r, (list, tuple)) for r in data):
            return Schema([_tensorspec(np.asarray(data), None)])
        return Schema([_colspec(pd.Series(data), None)])
    if isinstance(data, (str, bytes, bool, int, float)):
        return Schema([_colspec(pd.Series([data]), None)])
    raise InvalidInput(
        f"cannot infer a schema from {type(data).__name__}; use a DataFrame, numpy array, dict of arrays/lists, or list"
    )


def _as_column(value: Any) -> Any:
    return value if isinstance(value, (list, tuple, np.ndarray, pd.Series)) else [value]


def _tensorspec(array: np.ndarray, name: str | None) -> TensorSpec:
    dtype = np.dtype(object) if array.dtype.kind in "US" else array.dtype
    if array.ndim == 0:
        raise InvalidInput(f"tensor {name!r}: cannot infer a shape from a 0-d array")
    return TensorSpec(dtype, (-1,) + tuple(array.shape[1:]), name)


def _colspec(series: pd.Series, name: str | None) -> ColSpec:
    required = not bool(series.isna().any())
    return ColSpec(column_type_of(series, name), name, required)


def column_type_of(series: pd.Series, name: str | None) -> str:
    """MLflow's column type for a pandas column (nullable and string extension dtypes included)."""
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype):
        return "string"
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer" if numpy_dtype_of(dtype).itemsize <= 4 else "long"
    if pd.api.types.is_float_dtype(dtype):
        return "float" if numpy_dtype_of(dtype).itemsize <= 4 else "double"
    if isinstance(dtype, np.dtype) and dtype.kind == "O":
        values = series.dropna()
        if values.empty:
            raise InvalidInput(f"column {name!r}: cannot infer a type, every value is null")
        kinds = {_scalar_type(v) for v in values}
        if len(kinds) == 1:
            return kinds.pop()
        if kinds <= {"long", "double"}:
            return "double"
        raise InvalidInput(f"column {name!r}: mixed value types {sorted(kinds)}; cannot infer one type")
    raise InvalidInput(f"column {name!r}: dtype {dtype} has no schema type")


def _scalar_type(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "boolean"
    if isinstance(value, (int, np.integer)):
        return "long"
    if isinstance(value, (float, np.floating)):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (bytes, bytearray)):
        return "binary"
    if isinstance(value, (dt.datetime, dt.date, np.datetime64, pd.Timestamp)):
        return "datetime"
    raise InvalidInput(f"value of type {type(value).__name__} has no schema type")


def infer_param_schema(params: dict[str, Any]) -> ParamSchema:
    """Params schema: each value's type becomes the type, the value becomes the default."""
    specs = []
    for name, value in params.items():
        if isinstance(value, np.ndarray):
            value = value.tolist()
        if isinstance(value, (list, tuple)):
            if not value:
                raise InvalidInput(f"param {name!r}: cannot infer a type from an empty list")
            kinds = {_scalar_type(v) for v in value}
            if kinds == {"long", "double"}:
                kinds = {"double"}
            if len(kinds) != 1:
                raise InvalidInput(f"param {name!r}: mixed element types {sorted(kinds)}")
            specs.append(ParamSpec(name, kinds.pop(), list(value), (-1,)))
        else:
            if value is None:
                raise InvalidInput(f"param {name!r}: cannot infer a type from None")
            kind = _scalar_type(value)
            if kind == "binary":
                raise InvalidInput(f"param {name!r}: binary params are not supported")
            default = value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value
            specs.append(ParamSpec(name, kind, default, None))
    return ParamSchema(specs)


__all__ = ["column_type_of", "infer_param_schema", "infer_schema", "infer_signature"]
