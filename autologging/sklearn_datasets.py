"""The training data of an autologged fit as a run input (context "train"), as MLflow's sklearn
autolog records it with `log_datasets=True`: a pandas X as its DataFrame, numpy or sparse X (and
y) as a numpy dataset, with the code as the source."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from shipyard.autologging.runs import AutologRun
from shipyard.data.datasets import from_numpy, from_pandas
from shipyard.exceptions import InvalidInput
from shipyard.tracking import fluent, system_tags
from shipyard.tracking.entities import DatasetInput, InputTag

TRAIN_CONTEXT = "train"


def _dense(value: Any) -> Any:
    return value.toarray() if hasattr(value, "toarray") and hasattr(value, "nnz") else value


def training_dataset(X: Any, y: Any) -> Any:
    """MLflow's dataset for `fit(X, y)`; `InvalidInput` for a type MLflow does not record either."""
    # NOTE: no source given: from_pandas/from_numpy default to the code source, as MLflow's do
    if isinstance(X, pd.DataFrame):
        return from_pandas(X)  # NOTE: MLflow leaves y out of a pandas dataset
    features = _dense(X)
    if isinstance(features, np.ndarray):
        return from_numpy(features, targets=_dense(y))
    raise InvalidInput(f"unrecognised dataset type {type(X).__name__}; the training dataset was not recorded")


def log_training_dataset(run: AutologRun, X: Any, y: Any) -> None:
    """Store the dataset now, through the store (the writer queues only params, metrics, tags)."""
    dataset = training_dataset(X, y)
    entry = DatasetInput(dataset._to_mlflow_entity(), [InputTag(system_tags.DATASET_CONTEXT, TRAIN_CONTEXT)])
    fluent.current_client().log_inputs(run.run_id, [entry])


__all__ = ["TRAIN_CONTEXT", "log_training_dataset", "training_dataset"]
