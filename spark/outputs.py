"""A model's predictions for one Arrow batch, shaped as the Spark type the UDF returns.

Runs on the executors: one call per batch, numpy casts only (no per-row Python for scalar and
struct-of-scalar results).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DataType,
    DoubleType,
    FloatType,
    IntegerType,
    LongType,
    StringType,
    StructType,
)

from shipyard.exceptions import InvalidInput

_NUMPY: dict[type[DataType], str] = {
    BooleanType: "bool",
    IntegerType: "int32",
    LongType: "int64",
    FloatType: "float32",
    DoubleType: "float64",
}


def to_spark_result(prediction: Any, kind: DataType, rows: int) -> pd.Series | pd.DataFrame:
    """`prediction` (array, Series, DataFrame, list or dict of outputs) as `rows` values of `kind`."""
    if isinstance(kind, StructType):
        table = _named_outputs(prediction, [f.name for f in kind.fields])
        frame = pd.DataFrame(
            {f.name: _column(table[f.name], f.dataType, rows, what=f"output {f.name!r}") for f in kind.fields}
        )
        return frame
    return pd.Series(_column(prediction, kind, rows, what="the prediction"))


def _named_outputs(prediction: Any, names: list[str]) -> dict[str, Any]:
    if isinstance(prediction, pd.DataFrame):
        found = {str(c): prediction[c].to_numpy() for c in prediction.columns}
    elif isinstance(prediction, dict):
        found = {str(k): v for k, v in prediction.items()}
    else:
        raise InvalidInput(
            f"result_type struct<{','.join(names)}> needs named outputs (a DataFrame or a dict), but the model "
            f"returned a {type(prediction).__name__}; ask for a scalar or array result_type"
        )
    missing = [n for n in names if n not in found]
    if missing:
        raise InvalidInput(
            f"result_type asks for outputs {missing} the model did not return; it returned {sorted(found)}"
        )
    return found


def _column(values: Any, kind: DataType, rows: int, *, what: str) -> Any:
    """One output as a numpy array (scalars) or a list of arrays (arrays), `rows` long."""
    if isinstance(values, dict):  # a tensor model's outputs by name: one of them fits one column
        if len(values) != 1:
            raise InvalidInput(
                f"{what} has outputs {sorted(map(str, values))}; ask for a struct result_type to get them all"
            )
        values = next(iter(values.values()))
    if isinstance(values, pd.DataFrame):
        values = values.to_numpy()
    array = np.asarray(values.to_numpy() if isinstance(values, pd.Series) else values)
    if isinstance(kind, ArrayType):
        if array.dtype == object:  # one array per row already
            items = [np.asarray(v, dtype=_NUMPY.get(type(kind.elementType))) for v in array]
        else:
            if array.ndim != 2:
                raise InvalidInput(f"{what} has shape {array.shape}; an array result_type needs one array per row")
            items = list(array.astype(_numpy_dtype(kind.elementType)))
        _check_rows(len(items), rows, what)
        return items
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise InvalidInput(
            f"{what} has shape {array.shape}, more than one value per row; ask for an array or struct result_type"
        )
    _check_rows(len(array), rows, what)
    if isinstance(kind, StringType):
        return np.array([str(v) for v in array], dtype=object)
    return array.astype(_numpy_dtype(kind))


def _numpy_dtype(kind: DataType) -> str:
    if isinstance(kind, StringType):
        return "object"
    return _NUMPY[type(kind)]


def _check_rows(got: int, rows: int, what: str) -> None:
    if got != rows:
        raise InvalidInput(f"{what} has {got} rows for a batch of {rows}; a model must return one output per input row")


__all__ = ["to_spark_result"]
