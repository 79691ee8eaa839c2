"""The executor side of `spark_udf`: Arrow batches in, predictions out, one model load per worker.

Each batch goes through the model's own `predict`, so the signature is enforced per batch with
the rules every other entry point uses; a batch that fails says which column and how many rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from pyspark.sql.types import DataType

from shipyard.exceptions import ShipyardError
from shipyard.flavors.pyfunc import PyFuncModel
from shipyard.flavors.signature import TensorSpec
from shipyard.spark.arrow_batches import arrow_frame, to_arrow_result
from shipyard.spark.executor_cache import loaded_model
from shipyard.spark.outputs import to_spark_result
from shipyard.spark.shipment import Shipment


def score_batches(
    shipment: Shipment, kind: DataType, params: dict[str, Any] | None, batches: Iterator[pd.DataFrame]
) -> Iterator[pd.Series | pd.DataFrame]:
    """Predict each batch (a DataFrame of the struct the UDF was called with) as `kind`."""
    model = loaded_model(shipment)
    for frame in batches:
        data = model_input(model, frame)
        try:
            prediction = model.predict(data, params)
        except ShipyardError as exc:
            exc.add_note(f"in a spark_udf batch of {len(frame)} rows with columns {list(map(str, frame.columns))}")
            raise
        yield to_spark_result(prediction, kind, len(frame))


def score_arrow_batches(
    shipment: Shipment, kind: DataType, params: dict[str, Any] | None, batches: Iterator[pa.StructArray]
) -> Iterator[pa.Array]:
    """`score_batches` for an `arrow_udf`: each batch stays Arrow/numpy until the model (see arrow_batches)."""
    frames = map(arrow_frame, batches)
    for result in score_batches(shipment, kind, params, frames):
        yield to_arrow_result(result, kind)


def model_input(model: PyFuncModel, frame: pd.DataFrame) -> Any:
    """The batch as the model's predict takes it.

    `udf(struct(...))` arrives as one column of dicts (a struct inside the UDF's struct): its
    fields become the columns. A single array column for a model with one tensor input becomes
    that tensor (rows stacked), as MLflow's spark_udf passes it."""
    first: Any = frame.iloc[0, 0] if len(frame.columns) == 1 and len(frame) else None
    if isinstance(first, dict):
        frame = pd.DataFrame.from_records(frame.iloc[:, 0].tolist(), index=frame.index)
    schema = model.input_schema
    specs = schema.inputs if schema is not None else ()
    if len(specs) == 1 and isinstance(specs[0], TensorSpec) and len(frame.columns) == 1:
        column = frame.iloc[:, 0]
        if len(column) and isinstance(column.iloc[0], np.ndarray | list):
            return np.stack(column.to_list())
    return frame


__all__ = ["model_input", "score_arrow_batches", "score_batches"]
