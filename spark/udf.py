"""`spark_udf`: a model as a Spark pandas UDF, resolved once on the driver, loaded once per worker.

Mirrors `mlflow.pyfunc.spark_udf(spark, model_uri, result_type, env_manager, params, ...)`. The
driver resolves the URI (models:/, runs:/, paths) with the registry's resolver, reads only the
MLmodel file (to check `params` and `result_type` before any task runs) and packs the directory
once; executors load it through `executor_cache` and score Arrow batches in `scoring`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pandas as pd
from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.pandas.functions import pandas_udf
from pyspark.sql.session import SparkSession as ClassicSession
from pyspark.sql.types import DataType, StructType

from shipyard.exceptions import InvalidInput
from shipyard.flavors.enforcement import enforce_params
from shipyard.flavors.mlmodel import Model
from shipyard.flavors.signature import Schema
from shipyard.mlflow_names import refuses
from shipyard.registry.digest import compute_digest
from shipyard.registry.uris import resolve_model_uri
from shipyard.spark.result_types import infer_result_type, parse_result_type
from shipyard.spark.scoring import score_batches
from shipyard.spark.shipment import Shipment, config_json, pack
from shipyard.tracking.fluent_state import get_tracking_uri, process_settings

ENV_MANAGERS = ("local",)
"""`env_manager` values honoured: the executors' own Python environment."""


class ModelUdf:
    """The UDF `spark_udf` returns: call it with column names or Columns (`udf("a", "b")`,
    `udf(struct(...))`) or with nothing to use the signature's input columns.

    NOTE: the columns are always passed as one struct, so the batch reaches the model with its
    column names (a pandas UDF's separate arguments arrive unnamed)."""

    def __init__(self, pandas_udf: Any, input_names: list[str]) -> None:
        self.pandas_udf = pandas_udf
        self.input_names = input_names

    def __call__(self, *cols: str | Column) -> Column:
        if not cols:
            if not self.input_names:
                raise InvalidInput(
                    "spark_udf: the model's signature names no input columns; call the UDF with the columns"
                )
            cols = tuple(self.input_names)
        # NOTE: struct("a") with a bare name fails to resolve inside a pandas UDF on Spark 4.x; col("a") works.
        columns = [F.col(c) if isinstance(c, str) else c for c in cols]
        return cast(Column, self.pandas_udf(F.struct(*columns)))


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
    return ModelUdf(cast(Any, pandas_udf)(_batch_function(shipment, kind, checked), kind), _input_names(signature))


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


__all__ = ["ENV_MANAGERS", "ModelUdf", "spark_udf"]
