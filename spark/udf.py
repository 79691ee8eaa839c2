"""`spark_udf`: a model as a Spark pandas UDF, resolved once on the driver, loaded once per worker.

Mirrors `mlflow.pyfunc.spark_udf(spark, model_uri, result_type, env_manager, params, ...)`. The
driver resolves the URI (models:/, runs:/, paths) with the registry's resolver, reads only the
MLmodel file (to check `params` and `result_type` before any task runs) and packs the directory
once; executors load it through `executor_cache` and score Arrow batches in `scoring`: as an
`arrow_udf` when the signature's inputs convert Arrow -> numpy directly (`arrow_batches`), else as
a pandas UDF.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pandas as pd
import pyarrow as pa
from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.pandas.functions import arrow_udf, pandas_udf
from pyspark.sql.session import SparkSession as ClassicSession
from pyspark.sql.types import DataType, StructType

from shipyard.exceptions import InvalidInput
from shipyard.flavors.enforcement import enforce_params
from shipyard.flavors.mlmodel import Model
from shipyard.flavors.signature import Schema
from shipyard.mlflow_names import refuses
from shipyard.registry.digest import compute_digest
from shipyard.registry.uris import resolve_model_uri
from shipyard.spark.arrow_batches import arrow_ready
from shipyard.spark.result_types import infer_result_type, parse_result_type
from shipyard.spark.scoring import score_arrow_batches, score_batches
from shipyard.spark.shipment import Shipment, config_json, pack
from shipyard.tracking.fluent_state import get_tracking_uri, process_settings

ENV_MANAGERS = ("local",)
"""`env_manager` values honoured: the executors' own Python environment."""


class ModelUdf:
    """The UDF `spark_udf` returns: call it with column names or Columns (`udf("a", "b")`,
    `udf(struct(...))`) or with nothing to use the signature's input columns.

    NOTE: Columns are passed as one struct, so the batch reaches the model with their names (a
    UDF's separate arguments arrive unnamed). Names (and no arguments) go to an arrow UDF as
    separate columns, with the names bound in its closure: the JVM then builds no struct."""

    def __init__(
        self,
        spark_function: Any,
        input_names: list[str],
        shipment: Shipment,
        by_names: Callable[[tuple[str, ...]], Any] | None = None,
    ) -> None:
        self.spark_function = spark_function
        """The pyspark UDF taking one struct: an arrow UDF, or a pandas UDF (see the module docstring)."""
        self.input_names = input_names
        self.shipment = shipment
        """What the executors load: `shipment.digest` names the model version they score with."""
        self.by_names = by_names
        """The arrow UDF taking the named columns as separate arguments; None on the pandas path."""

    def __call__(self, *cols: str | Column) -> Column:
        if not cols:
            if not self.input_names:
                raise InvalidInput(
                    "spark_udf: the model's signature names no input columns; call the UDF with the columns"
                )
            cols = tuple(self.input_names)
        # NOTE: struct("a") with a bare name fails to resolve inside a pandas UDF on Spark 4.x; col("a") works.
        columns = [F.col(c) if isinstance(c, str) else c for c in cols]
        names = tuple(c for c in cols if isinstance(c, str))
        if self.by_names is not None and len(names) == len(cols):
            return cast(Column, self.by_names(names)(*columns))
        return cast(Column, self.spark_function(F.struct(*columns)))


@refuses("extra_env", "prebuilt_env_uri")
def spark_udf(
    spark: Any,
    model_uri: str | Path,
    result_type: str | DataType | None = None,
    env_manager: str | None = None,
    params: dict[str, Any] | None = None,
    extra_env: dict[str, str] | None = None,
    prebuilt_env_uri: str | None = None,
    model_config: dict[str, Any] | None = None,
) -> ModelUdf:
    """A Spark UDF predicting with the model at `model_uri` (see the module docstring).

    `result_type=None` takes the type from the output schema (double without one), as MLflow's;
    `env_manager=None` means "local": executors use their own Python, which must have Shipyard
    and the model's framework installed."""
    if env_manager not in (None, *ENV_MANAGERS):
        raise InvalidInput(
            f"spark_udf: env_manager {env_manager!r} is not supported; supported: {list(ENV_MANAGERS)} "
            "(executors score in their own Python environment)"
        )
    if model_config is not None and not isinstance(model_config, dict):
        raise InvalidInput(
            f"spark_udf: model_config must be a dict, got {type(model_config).__name__} "
            "(the executors read no config files)"
        )
    settings = process_settings()
    resolved = resolve_model_uri(model_uri, settings=settings, tracking_uri=get_tracking_uri())
    metadata = Model.load(resolved.local_path)
    signature = metadata.signature
    kind = (
        infer_result_type(signature.outputs if signature else None)
        if result_type is None
        else parse_result_type(result_type)
    )
    checked = enforce_params(signature.params if signature else None, params)
    shipment = Shipment(
        digest=resolved.digest or compute_digest(resolved.local_path),
        allow_pickle=settings.allow_pickle,
        model_config_json=config_json(model_config),
        skops_trusted_types=settings.skops_trusted_types,
        archive=_distribute(spark, pack(resolved.local_path)),
    )
    if not arrow_ready(signature):
        scorer = cast(Any, pandas_udf)(_batch_function(shipment, kind, checked), kind)
        return ModelUdf(scorer, _input_names(signature), shipment)

    def by_names(names: tuple[str, ...]) -> Any:
        return cast(Any, arrow_udf)(_arrow_columns_function(shipment, kind, checked, names), kind)

    scorer = cast(Any, arrow_udf)(_arrow_batch_function(shipment, kind, checked), kind)
    return ModelUdf(scorer, _input_names(signature), shipment, by_names)


def _distribute(spark: Any, archive: bytes) -> Any:
    """A broadcast of the archive on a classic session; the bytes themselves on Spark Connect."""
    if isinstance(spark, ClassicSession):
        return spark.sparkContext.broadcast(archive)
    if type(spark).__module__.startswith("pyspark.sql.connect"):
        return archive  # NOTE: Connect has no broadcast; the bytes travel in the UDF's closure
    raise InvalidInput(f"spark_udf: spark must be a pyspark SparkSession, got {type(spark).__name__}")


def _input_names(signature: Any) -> list[str]:
    inputs: Schema | None = signature.inputs if signature is not None else None
    if inputs is None or not inputs.has_input_names():
        return []
    return [str(name) for name in inputs.input_names()]


def _batch_function(shipment: Shipment, kind: DataType, params: dict[str, Any] | None) -> Any:
    """The pandas UDF body; pyspark reads its type hints to pick the iterator form (the model is
    loaded once per task's iterator, and cached across tasks by the worker)."""
    if isinstance(kind, StructType):

        def predict_struct(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            return cast(Iterator[pd.DataFrame], score_batches(shipment, kind, params, batches))

        return predict_struct

    def predict(batches: Iterator[pd.DataFrame]) -> Iterator[pd.Series]:
        return cast(Iterator[pd.Series], score_batches(shipment, kind, params, batches))

    return predict


def _arrow_batch_function(shipment: Shipment, kind: DataType, params: dict[str, Any] | None) -> Any:
    """The arrow UDF body (the iterator form, for the same reason as `_batch_function`'s)."""

    def predict_arrow(batches: Iterator[pa.Array]) -> Iterator[pa.Array]:
        return score_arrow_batches(shipment, kind, params, batches)

    return predict_arrow


def _arrow_columns_function(
    shipment: Shipment, kind: DataType, params: dict[str, Any] | None, names: tuple[str, ...]
) -> Any:
    """The arrow UDF body for separate named columns (pyspark passes one column bare, not in a tuple)."""

    def predict_columns(batches: Iterator[tuple[pa.Array, ...]]) -> Iterator[pa.Array]:
        tables = (pa.StructArray.from_arrays(b if isinstance(b, tuple) else (b,), names=names) for b in batches)
        return score_arrow_batches(shipment, kind, params, tables)

    return predict_columns


__all__ = ["ENV_MANAGERS", "ModelUdf", "spark_udf"]
