"""The type rules of schema enforcement: which conversions are safe, which are refused.

Two origins of values, one rule set (docs/signatures.md has the table):
- typed values (numpy arrays, pandas columns) convert only when numpy calls the cast "safe"
  (int -> long, int/long -> double, float -> double, ...); a bool never becomes a number;
- untyped values (Python lists and scalars, i.e. decoded JSON, which has no int32 or float32) are
  parsed into the schema's type: any number into a float type, integral numbers into an integer
  type that holds them; a string never becomes a number.
Nulls (None, NaN, pd.NA, NaT): a float/double column carries them as NaN, required or not (as
MLflow does: NaN is a float value); a column of any other type accepts them only when optional.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionDtype

from shipyard.exceptions import SchemaEnforcementError
from shipyard.flavors.schema_types import COLUMN_TYPES
from shipyard.flavors.signature import ColSpec

_INT_KINDS = "iu"


def _fail(what: str, expected: str, given: str, why: str = "") -> SchemaEnforcementError:
    tail = f"; {why}" if why else ""
    return SchemaEnforcementError(f"{what}: expected {expected}, got {given}{tail}")


def numpy_dtype_of(dtype: np.dtype | ExtensionDtype) -> np.dtype:
    """The numpy dtype behind a column's dtype (pandas' masked Int/Float/boolean and Arrow dtypes name one)."""
    if isinstance(dtype, np.dtype):
        return dtype
    # NOTE: `numpy_dtype` is an attribute of those dtypes, not of ExtensionDtype (nor in pandas-stubs).
    if hasattr(dtype, "numpy_dtype"):
        behind: np.dtype = np.dtype(dtype.numpy_dtype)
        return behind
    raise TypeError(f"Cannot interpret {dtype!r} as a data type")


def _objects(values: pd.Series) -> np.ndarray:
    """The values as an object array, None where one is missing."""
    objects: np.ndarray = values.to_numpy(dtype=object, na_value=None)  # type: ignore[call-overload]  # stubs: no None
    return objects


def to_source(values: Any) -> tuple[np.ndarray, bool]:
    """(numpy values, loose) for a column or tensor as given: loose when it came from Python."""
    if isinstance(values, np.ndarray):
        return values, False
    if isinstance(values, pd.Series):
        dtype = values.dtype
        if isinstance(dtype, np.dtype):
            return values.to_numpy(), False
        if isinstance(dtype, pd.StringDtype):
            return _objects(values), False
        if pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            if values.hasnans:
                return _objects(values), False
            return values.to_numpy(dtype=numpy_dtype_of(dtype)), False
        if pd.api.types.is_float_dtype(dtype):
            return values.to_numpy(dtype=numpy_dtype_of(dtype), na_value=np.nan), False
        return values.to_numpy(dtype=object), False
    if isinstance(values, (list, tuple)):
        try:
            return np.asarray(values), True
        except ValueError:  # ragged nested lists
            return np.asarray(values, dtype=object), True
    return np.asarray([values]), True


def is_null(v: Any) -> bool:
    """None, NaN, pd.NA or NaT: a missing value."""
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


def _kind_name(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "boolean"
    if isinstance(v, (int, np.integer)):
        return "integer number"
    if isinstance(v, (float, np.floating)):
        return "float number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, (bytes, bytearray)):
        return "bytes"
    return type(v).__name__


def convert_column(values: Any, spec: ColSpec, what: str) -> Any:
    """Column values converted to `spec.type`'s dtype; a pandas nullable array for optional
    integer/boolean columns with nulls; raises SchemaEnforcementError naming `what`.
    Scalar types only: nested columns go through `nested.enforce_nested_column`."""
    if not isinstance(spec.type, str):
        raise TypeError(f"{what}: convert_column takes scalar columns, got {spec.type!r}")
    data, loose = to_source(values)
    if data.ndim != 1:
        data = data.reshape(-1) if data.ndim == 2 and data.shape[1] == 1 else data
        if data.ndim != 1:
            raise _fail(what, "one value per row", f"an array of shape {data.shape}")
    target = COLUMN_TYPES[spec.type]
    kind = data.dtype.kind
    mask: np.ndarray | None = None
    if kind == "O":
        data, mask = _from_objects(data, spec, what, loose)
        kind = data.dtype.kind
    if target.kind in _INT_KINDS and kind == "f" and loose:
        nan = np.isnan(data)
        if nan.any():  # JSON nulls among whole numbers: keep them as nulls, check the rest
            mask = nan if mask is None else (mask | nan)
            data = np.where(nan, 0.0, data)
    if spec.type in ("string", "binary"):
        out = _to_text(data, spec, what, loose)
    elif spec.type == "datetime":
        out = _to_datetime(data, what)
    else:
        out = _to_number(data, target, spec.type, what, loose)
    if out.dtype.kind == "f":
        return out  # NaN is a float value; nulls became NaN
    if out.dtype.kind == "M":
        nulls = np.isnat(out)
        mask = nulls if mask is None else (mask | nulls)
    if mask is not None and mask.any():
        if spec.required:
            raise SchemaEnforcementError(
                f"{what}: required ({spec.type}) but {int(mask.sum())} value(s) are null; "
                "mark the column optional in the signature to allow nulls"
            )
        if out.dtype.kind in _INT_KINDS:
            return pd.arrays.IntegerArray(out, mask)
        if out.dtype.kind == "b":
            return pd.arrays.BooleanArray(out, mask)
    return out


def _from_objects(data: np.ndarray, spec: ColSpec, what: str, loose: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Object values -> a typed numpy array (+ null mask) when every non-null value fits."""
    mask = np.fromiter((is_null(v) for v in data), dtype=bool, count=len(data))
    has_null = bool(mask.any())
    present = data[~mask] if has_null else data
    if spec.type in ("string", "binary", "datetime"):
        return data, (mask if has_null else None)
    kinds = {_kind_name(v) for v in present}
    if not kinds:
        fill = np.zeros(len(data), dtype=COLUMN_TYPES[str(spec.type)])
        if fill.dtype.kind == "f":
            fill[:] = np.nan
        return fill, mask
    if kinds == {"boolean"}:
        typed = np.zeros(len(data), dtype=bool)
    elif kinds <= {"integer number"}:
        typed = np.zeros(len(data), dtype=np.int64)
    elif kinds <= {"integer number", "float number"}:
        typed = np.zeros(len(data), dtype=np.float64)
    else:
        bad = sorted(kinds - {"integer number", "float number"} or kinds)
        raise _fail(what, str(spec.type), f"{', '.join(bad)} values")
    typed[~mask] = present
    if has_null and typed.dtype.kind == "f":
        typed[mask] = np.nan
    return typed, (mask if has_null else None)


def _to_number(data: np.ndarray, target: np.dtype, type_name: str, what: str, loose: bool) -> np.ndarray:
    src = data.dtype
    if src == target:
        return data
    if src.kind == "b" or target.kind == "b":
        raise _fail(what, type_name, str(src), "booleans and numbers do not convert into each other")
    if src.kind not in "iuf":
        raise _fail(what, type_name, _dtype_name(src), "only numbers convert to a number type")
    if np.can_cast(src, target, "safe"):
        return data.astype(target)
    if not loose:
        why = "the conversion could lose precision or range"
        if src.kind == "f" and target.kind in _INT_KINDS:
            why = "a float cannot become an integer without loss"
            finite = data[~np.isnan(data)]
            if len(finite) < len(data) and np.array_equal(finite, np.floor(finite)):
                why += (
                    "; these are whole numbers with nulls, which pandas stores as floats: "
                    "send the nullable 'Int64' dtype and mark the column optional"
                )
        raise _fail(what, type_name, str(src), why)
    if target.kind == "f":
        return data.astype(target)
    # Loose (JSON) values into an integer type: integral and in range.
    if src.kind == "f" and not np.array_equal(data, np.floor(data)):
        raise _fail(what, type_name, "non-integral numbers", "an integer type needs whole numbers")
    info = np.iinfo(target)
    if len(data) and (data.min() < info.min or data.max() > info.max):
        raise _fail(what, type_name, f"values outside [{info.min}, {info.max}]")
    return data.astype(target)


def _to_text(data: np.ndarray, spec: ColSpec, what: str, loose: bool) -> np.ndarray:
    kind = data.dtype.kind
    want_bytes = spec.type == "binary"
    if kind == "U" and not want_bytes:
        return data.astype(object)
    if kind == "S" and want_bytes:
        return data.astype(object)
    if kind in "US" and want_bytes and loose and kind == "U":
        data = data.astype(object)
        kind = "O"
    if kind != "O":
        raise _fail(what, str(spec.type), _dtype_name(data.dtype))
    out = data
    for i, v in enumerate(data):
        if is_null(v):
            continue
        if want_bytes:
            if isinstance(v, (bytes, bytearray)):
                continue
            if loose and isinstance(v, str):
                if out is data:
                    out = data.copy()
                try:
                    out[i] = base64.b64decode(v, validate=True)
                except (binascii.Error, ValueError) as exc:
                    raise _fail(what, "binary (base64 text)", "text that is not base64") from exc
                continue
            raise _fail(what, "binary", _kind_name(v) + " values")
        if not isinstance(v, str):
            raise _fail(what, "string", _kind_name(v) + " values")
    return out


def _to_datetime(data: np.ndarray, what: str) -> np.ndarray:
    if data.dtype.kind == "M":
        return data.astype("datetime64[ns]")
    if data.dtype.kind not in "OU":
        raise _fail(what, "datetime", _dtype_name(data.dtype))
    for v in data:
        if not (is_null(v) or isinstance(v, (str, dt.date, np.datetime64))):
            raise _fail(what, "datetime", _kind_name(v) + " values")
    try:
        return pd.to_datetime(pd.Series(data, dtype=object), format="ISO8601").to_numpy(dtype="datetime64[ns]")
    except (ValueError, TypeError) as exc:
        raise _fail(what, "datetime", "text that is not a date/time") from exc


def _dtype_name(dtype: np.dtype) -> str:
    return {"U": "string", "S": "bytes", "O": "object", "M": "datetime"}.get(dtype.kind, str(dtype))


def convert_tensor(values: Any, dtype: np.dtype, shape: tuple[int, ...], what: str) -> np.ndarray:
    """A tensor converted to `dtype` with its shape checked (-1 matches any size)."""
    if isinstance(values, pd.DataFrame):
        data, loose = values.to_numpy(), False
    else:
        data, loose = to_source(values)
    if data.dtype != dtype:
        data = _tensor_dtype(data, dtype, what, loose)
    if data.ndim != len(shape) or any(want != -1 and got != want for want, got in zip(shape, data.shape, strict=True)):
        raise _fail(what, f"shape {tuple(shape)}", f"shape {data.shape}", "-1 matches any size")
    return data


def _tensor_dtype(data: np.ndarray, dtype: np.dtype, what: str, loose: bool) -> np.ndarray:
    src = data.dtype
    if dtype.kind in "OUS":
        if src.kind in "OUS":
            return data.astype(dtype)
        raise _fail(what, f"dtype {dtype}", f"dtype {src}")
    if src.kind == "O" and loose:
        try:
            data, src = data.astype(np.float64), np.dtype(np.float64)
        except (TypeError, ValueError) as exc:
            raise _fail(what, f"dtype {dtype}", "non-numeric values") from exc
    if (src.kind == "b") != (dtype.kind == "b") or src.kind not in "biuf":
        raise _fail(what, f"dtype {dtype}", f"dtype {_dtype_name(src)}")
    if np.can_cast(src, dtype, "safe"):
        return data.astype(dtype)
    if loose and dtype.kind == "f":
        return data.astype(dtype)
    if loose and dtype.kind in _INT_KINDS:
        if src.kind == "f" and not np.array_equal(data, np.floor(data)):
            raise _fail(what, f"dtype {dtype}", "non-integral numbers")
        info = np.iinfo(dtype)
        if data.size and (data.min() < info.min or data.max() > info.max):
            raise _fail(what, f"dtype {dtype}", f"values outside [{info.min}, {info.max}]")
        return data.astype(dtype)
    raise _fail(what, f"dtype {dtype}", f"dtype {src}", "the conversion is not safe")


__all__ = ["convert_column", "convert_tensor", "is_null", "numpy_dtype_of", "to_source"]
