"""Arrow batches straight to the model and back, for `spark_udf` on pyspark >= 4.1 (`arrow_udf`).

A pandas UDF has pyspark convert every Arrow batch to pandas column by column, with Python-level
work per column and per batch, and the result back again; it costs more per batch than predicting
with a small model does. For the column types a signature can name as plain numpy (numbers,
booleans, strings, numeric arrays) the Arrow buffers map to numpy directly, so the batch reaches
the model as one DataFrame built from numpy columns, and the prediction goes back as one Arrow
array. The signature's enforcement still runs on that DataFrame, as on every other entry point.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa
from pyspark.sql.pandas.types import to_arrow_type
from pyspark.sql.types import DataType, StructType

from shipyard.flavors.data_types import DataType as ColumnType
from shipyard.flavors.signature import ColSpec, ModelSignature, TensorSpec

ARROW_COLUMN_TYPES = frozenset(
    {ColumnType.boolean, ColumnType.integer, ColumnType.long, ColumnType.float, ColumnType.double, ColumnType.string}
)
"""Signature column types whose Arrow columns become the same numpy arrays pyspark's pandas
conversion makes (NOTE: not datetime: pyspark localises timestamps to the session's time zone)."""


def arrow_ready(signature: ModelSignature | None) -> bool:
    """Whether every input the signature names converts Arrow -> numpy as pandas UDFs would.

    A model without an input signature takes the pandas path: its columns may be of any type."""
    inputs = signature.inputs if signature is not None else None
    if inputs is None or not inputs.inputs:
        return False
    for spec in inputs.inputs:
        if isinstance(spec, TensorSpec):
            if spec.dtype.kind not in "biuf":
                return False
        elif not isinstance(spec, ColSpec) or spec.is_nested or spec.type not in ARROW_COLUMN_TYPES:
            return False
    return True


def arrow_frame(batch: pa.StructArray) -> pd.DataFrame:
    """The struct batch the UDF is called with as a DataFrame, one numpy column per field.

    `udf(struct(...))` arrives as a struct of one struct: its fields become the columns. Nulls
    become what pyspark's pandas conversion makes of them (NaN in numbers, None otherwise); a
    field of another Arrow type goes through pyarrow's pandas conversion, for the signature's
    enforcement to judge."""
    if batch.type.num_fields == 1 and pa.types.is_struct(batch.type.field(0).type):
        batch = batch.field(0)
    columns = {batch.type.field(i).name: _column(batch.field(i)) for i in range(batch.type.num_fields)}
    return pd.DataFrame(columns, copy=False)


def _column(values: pa.Array) -> Any:
    kind = values.type
    if _plain(kind) or (pa.types.is_list(kind) or pa.types.is_large_list(kind)) and _plain(kind.value_type):
        return values.to_numpy(zero_copy_only=False)
    return values.to_pandas()


def _plain(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
    )


def to_arrow_result(result: pd.Series | pd.DataFrame, kind: DataType) -> pa.Array:
    """`to_spark_result`'s Series (or DataFrame, for a struct) as the Arrow array of `kind`."""
    if isinstance(result, pd.DataFrame):  # what to_spark_result makes for a struct kind
        fields = cast(StructType, kind).fields
        return pa.StructArray.from_arrays(
            [_array(result[f.name], f.dataType) for f in fields], names=[f.name for f in fields]
        )
    return _array(result, kind)


def _array(values: pd.Series, kind: DataType) -> pa.Array:
    target = to_arrow_type(kind)
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "biuf":
        return pa.array(np.asarray(values), type=target)
    return pa.Array.from_pandas(values, type=target)


__all__ = ["ARROW_COLUMN_TYPES", "arrow_frame", "arrow_ready", "to_arrow_result"]
