"""Enforcement of one value against `Array`, `Object`, `Map` and `AnyType` (MLflow's rules).

The rules follow `mlflow.models.utils._enforce_type` and its helpers:
- an optional field (and an `Array`/`Map` of `AnyType`) takes null or an empty list/object as is;
- an `Array` takes a list or ndarray; scalar items convert with the column rules
  (`conversion.py`), other items recurse, passing down `required`;
- an `Object` takes a dict that has every required property and no unknown one; each property is
  enforced with its own `required`;
- a `Map` takes a dict with string keys; each value is enforced against `value_type`;
- `AnyType` takes anything, null included.
Values come back in the form given (a list stays a list, an ndarray an ndarray).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from shipyard.exceptions import SchemaEnforcementError
from shipyard.flavors.conversion import convert_column, is_null
from shipyard.flavors.schema_types import AnyType, Array, ColumnType, Map, Object
from shipyard.flavors.signature import ColSpec


def enforce_value(value: Any, dtype: ColumnType, required: bool, what: str) -> Any:
    """`value` checked against `dtype`, converted where the column rules allow; raises
    SchemaEnforcementError naming `what` (the column, then the path inside the value)."""
    if isinstance(dtype, str):
        return _scalar(value, dtype, required, what)
    if isinstance(dtype, AnyType):
        return value
    if isinstance(dtype, Array):
        return _array(value, dtype, required, what)
    if isinstance(dtype, Object):
        return _object(value, dtype, required, what)
    return _map(value, dtype, required, what)


def enforce_nested_column(values: Any, spec: ColSpec, what: str) -> np.ndarray:
    """A column of nested values, each enforced against `spec.type`: an object array."""
    items = values.tolist() if isinstance(values, pd.Series) else list(values)
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = enforce_value(item, spec.type, spec.required, f"{what} row {i}")
    return out


def _empty(value: Any, container: type) -> bool:
    if value is None:
        return True
    if container is list:
        return isinstance(value, (list, np.ndarray)) and len(value) == 0
    return isinstance(value, dict) and not value


def _array(value: Any, dtype: Array, required: bool, what: str) -> Any:
    if (not required or isinstance(dtype.dtype, AnyType)) and _empty(value, list):
        return value
    if not isinstance(value, (list, np.ndarray)):
        raise SchemaEnforcementError(f"{what}: expected a list ({describe_type(dtype)}), got {_kind(value)}")
    if isinstance(dtype.dtype, str):
        if len(value) == 0:
            return value
        converted = convert_column(list(value), ColSpec(dtype.dtype, None, required), f"{what} items")
        return _as_given(value, converted)
    items = [enforce_value(v, dtype.dtype, required, f"{what}[{i}]") for i, v in enumerate(value)]
    return np.array(items, dtype=object) if isinstance(value, np.ndarray) else items


def _object(value: Any, dtype: Object, required: bool, what: str) -> Any:
    if not required and _empty(value, dict):
        return value
    if not isinstance(value, dict):
        raise SchemaEnforcementError(f"{what}: expected an object ({describe_type(dtype)}), got {_kind(value)}")
    props = {p.name: p for p in dtype.properties}
    missing = sorted(name for name, p in props.items() if p.required and name not in value)
    if missing:
        raise SchemaEnforcementError(f"{what}: missing required properties {missing}; expected {describe_type(dtype)}")
    unknown = sorted(map(str, set(value) - set(props)))
    if unknown:
        raise SchemaEnforcementError(
            f"{what}: properties {unknown} are not in the schema; expected {describe_type(dtype)}"
        )
    return {k: enforce_value(v, props[k].dtype, props[k].required, f"{what}.{k}") for k, v in value.items()}


def _map(value: Any, dtype: Map, required: bool, what: str) -> Any:
    if (not required or isinstance(dtype.value_type, AnyType)) and _empty(value, dict):
        return value
    if not isinstance(value, dict):
        raise SchemaEnforcementError(f"{what}: expected an object ({describe_type(dtype)}), got {_kind(value)}")
    bad = [k for k in value if not isinstance(k, str)]
    if bad:
        raise SchemaEnforcementError(f"{what}: map keys must be strings, got {_kind(bad[0])} {bad[0]!r:.40}")
    return {k: enforce_value(v, dtype.value_type, required, f"{what}[{k!r}]") for k, v in value.items()}


def _scalar(value: Any, dtype: str, required: bool, what: str) -> Any:
    if not required and is_null(value):
        return None
    if not (np.isscalar(value) or value is None or isinstance(value, pd.Timestamp)):
        raise SchemaEnforcementError(f"{what}: expected one {dtype} value, got {_kind(value)}")
    converted = convert_column([value], ColSpec(dtype, None, required), what)
    return _as_given([value], converted)[0]


def _as_given(given: Any, converted: Any) -> Any:
    """Converted scalars back in the container they came in (Python values for a list)."""
    array = converted if isinstance(converted, np.ndarray) else np.asarray(converted, dtype=object)
    if array.dtype.kind == "M":
        stamps: list[Any] = pd.DatetimeIndex(array).to_list()
        return [None if pd.isna(s) else s for s in stamps] if isinstance(given, list) else array
    if isinstance(given, np.ndarray):
        return array
    return [None if v is pd.NA else v for v in array.tolist()]


def describe_type(dtype: ColumnType) -> str:
    """A short form for messages: `Array({content: string, role: string?})`."""
    if isinstance(dtype, str):
        return dtype
    if isinstance(dtype, Array):
        return f"Array({describe_type(dtype.dtype)})"
    if isinstance(dtype, Map):
        return f"Map(str -> {describe_type(dtype.value_type)})"
    if isinstance(dtype, Object):
        return (
            "{"
            + ", ".join(f"{p.name}: {describe_type(p.dtype)}{'' if p.required else '?'}" for p in dtype.properties)
            + "}"
        )
    return "Any"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple, np.ndarray)):
        return "a list"
    return type(value).__name__


__all__ = ["describe_type", "enforce_nested_column", "enforce_value"]
