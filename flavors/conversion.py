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
from shipyard.flavors.json_values import kind_of, number_values, tensor_values, text_nulls
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


def to_source(values: np.ndarray | pd.Series) -> np.ndarray:
    """A typed column or tensor as numpy values (pandas' nullable dtypes with nulls as objects)."""
    if isinstance(values, np.ndarray):
        return values
    dtype = values.dtype
    if isinstance(dtype, np.dtype):
        return values.to_numpy()
    if isinstance(dtype, pd.StringDtype):
        return _objects(values)
    if pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        if values.hasnans:
            return _objects(values)
        return values.to_numpy(dtype=numpy_dtype_of(dtype))
    if pd.api.types.is_float_dtype(dtype):
        return values.to_numpy(dtype=numpy_dtype_of(dtype), na_value=np.nan)
    return values.to_numpy(dtype=object)


def is_null(v: Any) -> bool:
    """None, NaN, pd.NA or NaT: a missing value."""
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


def convert_column(values: Any, spec: ColSpec, what: str) -> Any:
    """Column values converted to `spec.type`'s dtype; a pandas nullable array for optional
    integer/boolean columns with nulls; raises SchemaEnforcementError naming `what`.
    Scalar types only: nested columns go through `nested.enforce_nested_column`."""
    if not isinstance(spec.type, str):
        raise TypeError(f"{what}: convert_column takes scalar columns, got {spec.type!r}")
    if not isinstance(values, (np.ndarray, pd.Series)):
        return _python_column(list(values) if isinstance(values, (list, tuple)) else [values], spec, what, True)
    data = to_source(values)
    if data.ndim != 1:
        data = data.reshape(-1) if data.ndim == 2 and data.shape[1] == 1 else data
        if data.ndim != 1:
            raise _fail(what, "one value per row", f"an array of shape {data.shape}")
    if data.dtype.kind == "O":  # Python objects (a pandas object column): classified one by one
        return _python_column(data.tolist(), spec, what, False)
    target = COLUMN_TYPES[spec.type]
    if spec.type in ("string", "binary"):
        out = _to_text(data, spec, what, False)
    elif spec.type == "datetime":
        out = _to_datetime(data, what)
    else:
        out = _to_number(data, target, spec.type, what)
    if out.dtype.kind == "M":
        return _nullable(out, np.isnat(out), spec, what)
    return out  # NaN is a float value (as in MLflow) when the values came typed


_TEXT_KINDS = {
    "string": frozenset({"string"}),
    "binary": frozenset({"string", "bytes"}),
    "datetime": frozenset({"string", "date"}),
}


def _python_column(values: list[Any], spec: ColSpec, what: str, loose: bool) -> Any:
    """Python values (decoded JSON, CSV cells, an object column) through `json_values`' rules;
    a null in a required column is refused whatever its type (JSON has no NaN)."""
    type_name = str(spec.type)
    if type_name in _TEXT_KINDS:
        mask = text_nulls(values, _TEXT_KINDS[type_name], type_name, what)
        data = np.empty(len(values), dtype=object)
        data[:] = values
        if type_name == "datetime":
            out = _to_datetime(data, what)
            return _nullable(out, np.isnat(out), spec, what)
        return _nullable(_to_text(data, spec, what, loose), mask, spec, what)
    out, mask = number_values(values, COLUMN_TYPES[type_name], type_name, what)
    return _nullable(out, mask, spec, what)


def _nullable(out: np.ndarray, mask: np.ndarray | None, spec: ColSpec, what: str) -> Any:
    """Nulls allowed only in optional columns: as NaN/NaT/None, or a pandas nullable array."""
    if mask is None or not mask.any():
        return out
    if spec.required:
        row = int(np.argmax(mask))
        raise SchemaEnforcementError(
            f"{what}: required ({spec.type}) but {int(mask.sum())} value(s) are null, the first at row {row}; "
            "mark the column optional in the signature to allow nulls"
        )
    if out.dtype.kind in _INT_KINDS:
        return pd.arrays.IntegerArray(out, mask)
    if out.dtype.kind == "b":
        return pd.arrays.BooleanArray(out, mask)
    return out


def _to_number(data: np.ndarray, target: np.dtype, type_name: str, what: str) -> np.ndarray:
    """Typed values (numpy, pandas) into a number type: only numpy's "safe" casts."""
    src = data.dtype
    if src == target:
        return data
    if src.kind == "b" or target.kind == "b":
        raise _fail(what, type_name, str(src), "booleans and numbers do not convert into each other")
    if src.kind not in "iuf":
        raise _fail(what, type_name, _dtype_name(src), "only numbers convert to a number type")
    if np.can_cast(src, target, "safe"):
        return data.astype(target)
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
            raise _fail(what, "binary", _article_kind(v))
        if not isinstance(v, str):
            raise _fail(what, "string", _article_kind(v))
    return out


def _to_datetime(data: np.ndarray, what: str) -> np.ndarray:
    if data.dtype.kind == "M":
        return data.astype("datetime64[ns]")
    if data.dtype.kind not in "OU":
        raise _fail(what, "datetime", _dtype_name(data.dtype))
    for v in data:
        if not (is_null(v) or isinstance(v, (str, dt.date, np.datetime64))):
            raise _fail(what, "datetime", _article_kind(v))
    try:
        return pd.to_datetime(pd.Series(data, dtype=object), format="ISO8601").to_numpy(dtype="datetime64[ns]")
    except (ValueError, TypeError) as exc:
        raise _fail(what, "datetime", "text that is not a date/time") from exc


def _article_kind(v: Any) -> str:
    return f"{kind_of(v)} values"


def _dtype_name(dtype: np.dtype) -> str:
    return {"U": "string", "S": "bytes", "O": "object", "M": "datetime"}.get(dtype.kind, str(dtype))


def convert_tensor(values: Any, dtype: np.dtype, shape: tuple[int, ...], what: str) -> np.ndarray:
    """A tensor converted to `dtype` with its shape checked (-1 matches any size). Python lists
    go through `json_values.tensor_values` (each leaf checked); typed arrays through numpy's
    "safe" casts."""
    if isinstance(values, pd.DataFrame):
        data = values.to_numpy()
    elif isinstance(values, (list, tuple)):
        data = tensor_values(values, dtype, what)
        if data.ndim == 1 and data.size == 0 and len(shape) > 1:  # zero rows: `[]` stands for (0, ...)
            data = data.reshape((0, *(max(d, 0) for d in shape[1:])))
    elif isinstance(values, (np.ndarray, pd.Series)):
        data = to_source(values)
    else:
        data = tensor_values([values], dtype, what)
    if data.dtype != dtype:
        data = _tensor_dtype(data, dtype, what)
    if data.ndim != len(shape) or any(want != -1 and got != want for want, got in zip(shape, data.shape, strict=True)):
        raise _fail(what, f"shape {tuple(shape)}", f"shape {data.shape}", "-1 matches any size")
    return data


def _tensor_dtype(data: np.ndarray, dtype: np.dtype, what: str) -> np.ndarray:
    src = data.dtype
    if src.kind == "O":  # Python objects: each leaf checked as a JSON value would be
        return tensor_values(data.tolist(), dtype, what)
    if dtype.kind in "OUS":
        if src.kind in "OUS":
            return data.astype(dtype)
        raise _fail(what, f"dtype {dtype}", f"dtype {src}")
    if (src.kind == "b") != (dtype.kind == "b") or src.kind not in "biuf":
        raise _fail(what, f"dtype {dtype}", f"dtype {_dtype_name(src)}")
    if np.can_cast(src, dtype, "safe"):
        return data.astype(dtype)
    raise _fail(what, f"dtype {dtype}", f"dtype {src}", "the conversion is not safe")


__all__ = ["convert_column", "convert_tensor", "is_null", "numpy_dtype_of", "to_source"]
