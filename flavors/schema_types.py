"""The column types of a signature: MLflow's scalar names plus `Array`, `Object`, `Map`, `Any`.

A scalar type is its name (`"double"`; `DataType.double` is the same string). The nested types
are frozen dataclasses that serialize exactly as `mlflow.types.schema` writes them, so an
`MLmodel` written by either side loads on the other:

    Array(dtype)            {"type": "array", "items": {"type": "string"}}
    Object([Property, ...]) {"type": "object", "properties": {"a": {"type": "long", "required": true}}}
    Map(value_type)         {"type": "map", "values": {"type": "double"}}
    AnyType()               {"type": "any"}

Enforcement of values against these types lives in `nested.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from shipyard.exceptions import InvalidInput

# Scalar column types and the numpy dtype a column of that type becomes.
COLUMN_TYPES: dict[str, np.dtype] = {
    "boolean": np.dtype(np.bool_),
    "integer": np.dtype(np.int32),
    "long": np.dtype(np.int64),
    "float": np.dtype(np.float32),
    "double": np.dtype(np.float64),
    "string": np.dtype(object),
    "binary": np.dtype(object),
    "datetime": np.dtype("datetime64[ns]"),
}

NESTED_TYPE_NAMES = ("array", "object", "map", "any")


def check_column_type(dtype: Any, what: str) -> ColumnType:
    """A type given by a caller: a scalar name (or `DataType`) or a nested type instance."""
    if isinstance(dtype, (Array, Object, Map, AnyType)):
        return dtype
    if isinstance(dtype, str) and str(dtype) in COLUMN_TYPES:
        return str(dtype)
    raise InvalidInput(
        f"{what}: type {dtype!r} is not supported; allowed: {', '.join(COLUMN_TYPES)}, "
        "Array(...), Object([...]), Map(...) or AnyType()"
    )


def _type_dict(dtype: ColumnType) -> dict[str, Any]:
    return {"type": dtype} if isinstance(dtype, str) else dtype.to_dict()


@dataclass(frozen=True)
class Array:
    """A list whose items all have `dtype` (MLflow's `mlflow.types.schema.Array`)."""

    dtype: ColumnType

    def __post_init__(self) -> None:
        object.__setattr__(self, "dtype", check_column_type(self.dtype, "Array items"))

    def to_dict(self) -> dict[str, Any]:
        return {"type": "array", "items": _type_dict(self.dtype)}

    def __repr__(self) -> str:
        return f"Array({self.dtype!r})"


@dataclass(frozen=True)
class Property:
    """One named field of an `Object`; `required=False` lets it be absent or null."""

    name: str
    dtype: ColumnType
    required: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise InvalidInput(f"Property name: expected a string, got {type(self.name).__name__}")
        object.__setattr__(self, "dtype", check_column_type(self.dtype, f"property {self.name!r}"))

    def to_dict(self) -> dict[str, Any]:
        return {self.name: {**_type_dict(self.dtype), "required": self.required}}


@dataclass(frozen=True)
class Object:
    """A JSON object with known properties, kept sorted by name as MLflow keeps them."""

    properties: tuple[Property, ...]

    def __init__(self, properties: Sequence[Property]) -> None:
        props = tuple(properties)
        if not props:
            raise InvalidInput("Object: needs at least one Property")
        if not all(isinstance(p, Property) for p in props):
            raise InvalidInput("Object: every entry must be a Property")
        names = [p.name for p in props]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise InvalidInput(f"Object: repeated property names {repeated}")
        object.__setattr__(self, "properties", tuple(sorted(props, key=lambda p: p.name)))

    def to_dict(self) -> dict[str, Any]:
        props: dict[str, Any] = {}
        for prop in self.properties:
            props.update(prop.to_dict())
        return {"type": "object", "properties": props}


@dataclass(frozen=True)
class Map:
    """A JSON object with string keys and values of `value_type`."""

    value_type: ColumnType

    def __post_init__(self) -> None:
        object.__setattr__(self, "value_type", check_column_type(self.value_type, "Map values"))

    def to_dict(self) -> dict[str, Any]:
        return {"type": "map", "values": _type_dict(self.value_type)}


@dataclass(frozen=True)
class AnyType:
    """Any JSON value, null included; not validated at all (as in MLflow)."""

    def to_dict(self) -> dict[str, Any]:
        return {"type": "any"}

    def __repr__(self) -> str:
        return "Any"


ColumnType = str | Array | Object | Map | AnyType
NestedType = Array | Object | Map | AnyType


def column_dtype(dtype: ColumnType) -> np.dtype:
    """The numpy dtype a column of this type becomes (object for nested values)."""
    return COLUMN_TYPES[dtype] if isinstance(dtype, str) else np.dtype(object)


def type_from_dict(item: Any, where: str) -> ColumnType:
    """A type from MLflow's JSON form; raises ValueError naming `where` and the problem."""
    if not isinstance(item, dict) or "type" not in item:
        raise ValueError(f"{where}: expected an object with a 'type' key, got {item!r:.80}")
    kind = item["type"]
    if kind in COLUMN_TYPES:
        return str(kind)
    if kind == "any":
        return AnyType()
    if kind == "array":
        return Array(type_from_dict(item.get("items"), f"{where}.items"))
    if kind == "map":
        return Map(type_from_dict(item.get("values"), f"{where}.values"))
    if kind == "object":
        props = item.get("properties")
        if not isinstance(props, dict) or not props:
            raise ValueError(f"{where}: an object type needs a non-empty 'properties' object")
        return Object(
            [
                Property(name, type_from_dict(spec, f"{where}.properties.{name}"), bool(spec.get("required", True)))
                for name, spec in props.items()
            ]
        )
    if kind == "sparkml_vector":
        # NOTE: a Spark ML vector only comes from Spark DataFrames, which Shipyard does not take.
        raise ValueError(f"{where}: type 'sparkml_vector' is not supported (Shipyard does not take Spark input)")
    raise ValueError(
        f"{where}: type {kind!r} is not supported; supported: tensor, {', '.join(COLUMN_TYPES)}, "
        f"{', '.join(NESTED_TYPE_NAMES)}"
    )


__all__ = [
    "COLUMN_TYPES",
    "AnyType",
    "Array",
    "ColumnType",
    "Map",
    "NestedType",
    "Object",
    "Property",
    "check_column_type",
    "column_dtype",
    "type_from_dict",
]
