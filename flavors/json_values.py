"""Python (decoded JSON or CSV) values classified by their own type before numpy sees them.

`np.asarray([True, 3.5])` is `[1.0, 3.5]` and `np.asarray([5, "a"])` is `["5", "a"]`: numpy
decides a mixed list's dtype before any check can look, and a Python int past int64 or a float
past float32 silently changes. So each value is classified here by its own Python type (bool
before int: a bool is an int to Python), per column and per tensor, and the list is handed to
numpy only once every value fits the target:
- numbers (int, float) into number types; a bool never becomes a number, nor a number a bool,
  nor a number a string;
- an int into an integer type only within the type's range, compared exactly as Python ints;
- a float into an integer type only when it is whole (and in range);
- an int into a float type only when it is at most 2**53 in size (beyond that it loses digits);
- a float into float32 only within float32's range (past it, it would become inf);
- a float that is not finite (inf, from CSV or Python) into a number type: refused;
- None and NaN are nulls: the caller decides whether the column may carry one.
Every refusal names the column or tensor, the row (a tensor: the index) and the value.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from itertools import chain
from typing import Any

import numpy as np

from shipyard.exceptions import SchemaEnforcementError

FLOAT_INT_LIMIT = 2**53
"""The largest size of an int that a float64 holds exactly (so every JSON reader reads it back)."""
FLOAT32_MAX = float(np.finfo(np.float32).max)

Where = Callable[[int], str]
_PLAIN_NUMBERS = frozenset({int, float})
_LISTS = frozenset({list, tuple})
_CONTAINERS = frozenset({list, tuple, dict})
_NUMBER_KINDS = frozenset({"integer", "float"})


def kind_of(value: Any) -> str:
    """The JSON-level kind of one value: boolean, integer, float, string, null, array, object, ..."""
    if value is None:
        return "null"
    if isinstance(value, (bool, np.bool_)):  # NOTE: before int: a bool is an int to Python
        return "boolean"
    if isinstance(value, (int, np.integer)):
        return "integer"
    if isinstance(value, (float, np.floating)):
        return "null" if math.isnan(value) else "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (bytes, bytearray)):
        return "bytes"
    if isinstance(value, (list, tuple, np.ndarray)):
        return "array"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, (dt.date, np.datetime64)):
        return "date"
    import pandas as pd

    if value is pd.NA or value is pd.NaT:
        return "null"
    return type(value).__name__


def refuse(what: str, where: str, value: Any, problem: str) -> SchemaEnforcementError:
    """The one message shape: `column 'x': expected double (a number); got True (a boolean) at row 3`."""
    shown = repr(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    at = f" at {where}" if where else ""
    return SchemaEnforcementError(f"{what}: {problem}; got {shown} ({_article(kind_of(value))}){at}")


def _article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _row(i: int) -> str:
    return f"row {i}"


def number_values(
    values: Sequence[Any], dtype: np.dtype, label: str, what: str, where: Where = _row
) -> tuple[np.ndarray, np.ndarray | None]:
    """(values as the number or boolean `dtype`, null mask or None): every value checked first.
    Nulls are filled (NaN for floats, else 0/False) and left to the caller to allow or refuse;
    `label` names the type in messages (`double`, `float32`)."""
    types = set(map(type, values))
    if dtype.kind != "b" and types <= _PLAIN_NUMBERS:
        return _plain_numbers(values, types, dtype, label, what, where)
    kinds = [kind_of(v) for v in values]
    allowed = frozenset({"boolean"}) if dtype.kind == "b" else _NUMBER_KINDS
    for i, kind in enumerate(kinds):
        if kind not in allowed and kind != "null":
            raise refuse(what, where(i), values[i], _expected(label, dtype))
    nulls = [k == "null" for k in kinds]
    mask = np.array(nulls, dtype=bool) if any(nulls) else None
    if dtype.kind == "b":
        return np.array([False if n else bool(v) for v, n in zip(values, nulls, strict=True)], dtype=bool), mask
    plain: list[Any] = [
        (math.nan if dtype.kind == "f" else 0) if n else (float(v) if k == "float" else int(v))
        for v, k, n in zip(values, kinds, nulls, strict=True)
    ]
    out, _ = _plain_numbers(plain, set(map(type, plain)), dtype, label, what, where)
    return out, mask


def _plain_numbers(
    values: Sequence[Any], types: set[type], dtype: np.dtype, label: str, what: str, where: Where
) -> tuple[np.ndarray, np.ndarray | None]:
    """Python ints and floats only (no bools) -> `dtype`, every range rule checked; NaN is a null."""
    if dtype.kind == "f":
        if int in types:
            for i, v in enumerate(values):
                if type(v) is int and not -FLOAT_INT_LIMIT <= v <= FLOAT_INT_LIMIT:
                    raise refuse(what, where(i), v, f"an integer beyond 2**53 loses digits as {label}; send it as text")
        wide = np.array(values, dtype=np.float64)
        mask = None
        if float in types and wide.size and not _all_in_range(wide, dtype):
            nan = np.isnan(wide)
            mask = nan if nan.any() else None
            bad = np.isinf(wide)
            if dtype.itemsize <= 4:
                bad |= np.abs(np.where(nan, 0.0, wide)) > FLOAT32_MAX
            if bad.any():
                i = int(np.argmax(bad))
                problem = (
                    f"expected {label}: a finite number"
                    if math.isinf(values[i])
                    else f"outside {label}'s range (+-{FLOAT32_MAX:.6g})"
                )
                raise refuse(what, where(i), values[i], problem)
        return (wide if dtype == wide.dtype else wide.astype(dtype)), mask
    if dtype.kind not in "iu":
        raise SchemaEnforcementError(f"{what}: expected {label}, got numbers")
    info = np.iinfo(dtype)
    lo, hi = int(info.min), int(info.max)
    whole: Sequence[Any] = values
    mask = None
    if float in types:
        whole = []
        nulls = []
        for i, v in enumerate(values):
            if type(v) is float:
                if math.isnan(v):
                    nulls.append(i)
                    v = 0.0
                elif not v.is_integer():
                    raise refuse(what, where(i), v, f"expected {label}: a whole number")
                v = int(v)
            whole.append(v)
        if nulls:
            mask = np.zeros(len(values), dtype=bool)
            mask[nulls] = True
    if whole and (min(whole) < lo or max(whole) > hi):
        i = next(i for i, v in enumerate(whole) if not lo <= v <= hi)
        raise refuse(what, where(i), values[i], f"outside {label}'s range [{lo}, {hi}]")
    return np.array(whole, dtype=dtype), mask


def _all_in_range(wide: np.ndarray, dtype: np.dtype) -> bool:
    """The fast path: one reduction says every value is finite (and within float32's range)."""
    if dtype.itemsize > 4:
        return bool(np.isfinite(wide.sum()))  # NOTE: a NaN or inf anywhere makes the sum NaN or inf
    return float(np.abs(wide).max()) <= FLOAT32_MAX  # NOTE: False for a NaN (a null: the slow path)


def text_nulls(values: Sequence[Any], allowed: frozenset[str], label: str, what: str) -> np.ndarray | None:
    """For text-like columns (string, binary, datetime): every value of an allowed kind or null;
    the null mask (None when no value is null)."""
    if set(map(type, values)) <= {str}:
        return None
    kinds = [kind_of(v) for v in values]
    for i, kind in enumerate(kinds):
        if kind not in allowed and kind != "null":
            raise refuse(what, _row(i), values[i], _expected(label, None))
    nulls = [k == "null" for k in kinds]
    return np.array(nulls, dtype=bool) if any(nulls) else None


def _expected(label: str, dtype: np.dtype | None) -> str:
    kind = dtype.kind if dtype is not None else "-"
    if kind == "b":
        return f"expected {label} (true or false)"
    if kind in "iuf":
        return f"expected {label} (a number)"
    if label == "binary":
        return "expected binary (base64 text)"
    if label == "datetime":
        return "expected datetime (ISO 8601 text)"
    return f"expected {label} (text)"


def tensor_values(values: Sequence[Any], dtype: np.dtype, what: str) -> np.ndarray:
    """Nested lists -> an ndarray of `dtype`, every leaf checked first; a tensor carries no
    nulls; ragged lists are refused naming the index where they differ."""
    regular = _regular_numbers(values, dtype)
    if regular is not None:
        return regular
    shape, flat = flatten(values, what)

    def where(i: int) -> str:
        return "index " + _index(i, shape)

    label = str(dtype)
    if dtype.kind in "OUS":
        for i, leaf in enumerate(flat):
            if type(leaf) is not str and kind_of(leaf) not in ("string", "bytes"):
                raise refuse(what, where(i), leaf, f"expected {label} (text)")
        out = np.empty(len(flat), dtype=object)
        out[:] = flat
        return out.reshape(shape) if dtype.kind == "O" else out.reshape(shape).astype(dtype)
    if dtype.kind not in "biuf":
        raise SchemaEnforcementError(f"{what}: tensors of dtype {dtype} are not taken as JSON values")
    array, mask = number_values(flat, dtype, label, what, where)
    if mask is not None:
        i = int(np.argmax(mask))
        raise refuse(what, where(i), flat[i], "a tensor carries no nulls")
    return array.reshape(shape)


class BooleanFree(list[Any]):
    """A decoded JSON list whose source text holds no `true` or `false` token, so no value in it
    is a bool: numbers need no per-value type walk to tell a bool from a number (the body parser
    marks it; a plain list gets the walk)."""


def _regular_numbers(values: Sequence[Any], dtype: np.dtype) -> np.ndarray | None:
    """The common case without a leaf walk in Python: a regular nested list of plain floats (or
    ints) that numpy reads in C, every leaf's type taken in one pass and every range checked on
    the array. None for anything else (bools, nulls, strings, mixtures, ragged lists, ints past
    2**53 into floats, floats into ints): the careful path then finds and names the problem."""
    if dtype.kind not in "iuf":
        return None
    try:
        array = np.asarray(values)
    except (ValueError, TypeError, OverflowError):  # ragged, or ints past 64 bits
        return None
    if array.dtype.kind not in "fi" or array.ndim == 0:
        return None
    if isinstance(values, BooleanFree):
        # NOTE: no bools; numpy's own dtype says the rest (float64: floats, perhaps with ints)
        types = {float, int} if array.dtype.kind == "f" else {int}
    else:
        leaves: Any = values
        for _ in range(array.ndim - 1):
            leaves = chain.from_iterable(leaves)
        types = set(map(type, leaves))
    if dtype.kind == "f":
        if not types <= _PLAIN_NUMBERS or not array.size:
            return None
        if int in types and not float(np.abs(array).max()) < FLOAT_INT_LIMIT:
            return None
        if array.dtype.kind == "f" and not _all_in_range(array, dtype):
            return None
        return array if array.dtype == dtype else array.astype(dtype)
    if types != {int}:
        return None
    info = np.iinfo(dtype)
    if array.size and (int(array.min()) < int(info.min) or int(array.max()) > int(info.max)):
        return None
    return array if array.dtype == dtype else array.astype(dtype)


def _index(i: int, shape: Sequence[int]) -> str:
    if not shape:
        return "[]"
    return "[" + "][".join(str(int(j)) for j in np.unravel_index(i, tuple(shape))) + "]"


def flatten(values: Sequence[Any], what: str) -> tuple[tuple[int, ...], list[Any]]:
    """(shape, leaves in C order) of nested lists; a list whose length differs from its first
    sibling's (ragged), or a list where a sibling holds a value, is refused naming its index."""
    shape: list[int] = []
    probe: Any = values
    while isinstance(probe, (list, tuple)):
        shape.append(len(probe))
        if not probe:
            break
        probe = probe[0]
    level: list[Any] = list(values)
    for depth in range(1, len(shape)):
        width = shape[depth]
        if set(map(type, level)) <= _LISTS and set(map(len, level)) == {width}:  # the common, regular case
            level = list(chain.from_iterable(level))
            continue
        nxt: list[Any] = []
        for i, item in enumerate(level):
            if not isinstance(item, (list, tuple)) or len(item) != width:
                got = f"{len(item)} values" if isinstance(item, (list, tuple)) else _article(kind_of(item))
                raise SchemaEnforcementError(
                    f"{what}: ragged: expected a list of {width} values (as at index "
                    f"{_index(0, shape[:depth])}), got {got} at index {_index(i, shape[:depth])}"
                )
            nxt.extend(item)
        level = nxt
    if set(map(type, level)).isdisjoint(_CONTAINERS):
        return tuple(shape), level
    for i, leaf in enumerate(level):
        if isinstance(leaf, (list, tuple, dict)):
            raise SchemaEnforcementError(
                f"{what}: ragged: expected a value (as at index {_index(0, shape)}), got {_article(kind_of(leaf))} "
                f"at index {_index(i, shape)}"
            )
    return tuple(shape), level


__all__ = [
    "FLOAT32_MAX",
    "FLOAT_INT_LIMIT",
    "BooleanFree",
    "flatten",
    "kind_of",
    "number_values",
    "refuse",
    "tensor_values",
    "text_nulls",
]
