"""The Spark type a UDF returns: parsed from `result_type`, or read from the model's output schema.

Parsed here rather than by Spark's DDL parser, which needs a JVM (classic) or a server round trip
(Connect), so a wrong `result_type` fails on the driver with the allowed forms listed.
"""

from __future__ import annotations

import re

import numpy as np
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DataType,
    DoubleType,
    FloatType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
)

from shipyard.exceptions import InvalidInput
from shipyard.flavors.signature import ColSpec, Schema, TensorSpec

SCALARS: dict[str, type[DataType]] = {
    "boolean": BooleanType,
    "int": IntegerType,
    "integer": IntegerType,
    "long": LongType,
    "bigint": LongType,
    "float": FloatType,
    "double": DoubleType,
    "string": StringType,
}
"""Scalar type names `result_type` takes (Spark's DDL spellings)."""

ALLOWED = "a scalar (" + ", ".join(SCALARS) + "), array<scalar>, or struct<name:scalar|array<scalar>,...>"
_SCALAR_TYPES = tuple(set(SCALARS.values()))
_ARRAY = re.compile(r"^array\s*<(.+)>$", re.IGNORECASE)
_STRUCT = re.compile(r"^struct\s*<(.+)>$", re.IGNORECASE)
_NUMPY_KINDS: dict[str, type[DataType]] = {
    "bool": BooleanType,
    "int8": IntegerType,
    "int16": IntegerType,
    "int32": IntegerType,
    "int64": LongType,
    "uint8": IntegerType,
    "uint16": IntegerType,
    "uint32": LongType,
    "float16": FloatType,
    "float32": FloatType,
    "float64": DoubleType,
}


def parse_result_type(result_type: str | DataType) -> DataType:
    """`result_type` as a Spark type, checked against what the UDF can return."""
    if isinstance(result_type, DataType):
        _check_supported(result_type)
        return result_type
    if not isinstance(result_type, str):
        raise InvalidInput(f"result_type must be a string or a pyspark DataType, got {type(result_type).__name__}")
    return _parse(result_type.strip(), result_type)


def infer_result_type(outputs: Schema | None) -> DataType:
    """MLflow's rule for `result_type=None`: the output schema's type when it has one, else double."""
    if outputs is None:
        return DoubleType()
    specs = outputs.inputs
    if len(specs) == 1:
        return _spec_type(specs[0], nested=False)
    if all(spec.name is not None for spec in specs):
        return StructType([StructField(str(spec.name), _spec_type(spec, nested=True)) for spec in specs])
    raise InvalidInput(
        f"result_type: the model has {len(specs)} unnamed outputs, which no Spark type names; give result_type "
        f"({ALLOWED})"
    )


def _spec_type(spec: ColSpec | TensorSpec, *, nested: bool) -> DataType:
    if isinstance(spec, TensorSpec):
        element = _NUMPY_KINDS.get(np.dtype(spec.dtype).name)
        if element is None:
            raise InvalidInput(f"result_type: output tensor dtype {spec.dtype} has no Spark type; give result_type")
        return element() if len(spec.shape) <= 1 and not nested else ArrayType(element())
    name = str(spec.type)
    if name not in SCALARS:
        raise InvalidInput(f"result_type: output column type {name!r} has no Spark result type; give result_type")
    return SCALARS[name]()


def _parse(text: str, given: str) -> DataType:
    scalar = SCALARS.get(text.lower())
    if scalar is not None:
        return scalar()
    array = _ARRAY.match(text)
    if array:
        element = SCALARS.get(array.group(1).strip().lower())
        if element is None:
            raise InvalidInput(f"result_type {given!r}: array elements must be scalars; allowed: {ALLOWED}")
        return ArrayType(element())
    struct = _STRUCT.match(text)
    if struct:
        fields = []
        for part in _split_fields(struct.group(1)):
            name, sep, kind = part.partition(":")
            if not sep or not name.strip():
                raise InvalidInput(f"result_type {given!r}: struct field {part.strip()!r} is not name:type")
            inner = _parse(kind.strip(), given)
            if isinstance(inner, StructType):
                raise InvalidInput(f"result_type {given!r}: nested structs are not supported; allowed: {ALLOWED}")
            fields.append(StructField(name.strip(), inner))
        return StructType(fields)
    raise InvalidInput(f"result_type {given!r} is not supported; allowed: {ALLOWED}")


def _split_fields(body: str) -> list[str]:
    """Split `a:double, b:array<long>` at the commas outside angle brackets."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(body):
        depth += {"<": 1, ">": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    parts.append(body[start:])
    return parts


def _check_supported(kind: DataType) -> None:
    if isinstance(kind, _SCALAR_TYPES):
        return
    if isinstance(kind, ArrayType) and isinstance(kind.elementType, _SCALAR_TYPES):
        return
    if isinstance(kind, StructType) and all(
        isinstance(f.dataType, _SCALAR_TYPES)
        or (isinstance(f.dataType, ArrayType) and isinstance(f.dataType.elementType, _SCALAR_TYPES))
        for f in kind.fields
    ):
        return
    raise InvalidInput(f"result_type {kind.simpleString()!r} is not supported; allowed: {ALLOWED}")


__all__ = ["ALLOWED", "SCALARS", "infer_result_type", "parse_result_type"]
