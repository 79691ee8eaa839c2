"""`shipyard.entities`: MLflow's `mlflow.entities` import path (`Run`, `Experiment`, `Metric`, ...).

NOTE: lazy (`_LAZY`, see the root `__init__.py`), like `shipyard.tracking`, whose entities these are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipyard.lazy import lazy_exports

if TYPE_CHECKING:
    from shipyard.entities import model_registry
    from shipyard.tracking.entities import (
        Dataset,
        DatasetInput,
        Experiment,
        ExperimentTag,
        FileInfo,
        InputTag,
        LifecycleStage,
        LoggedModelInput,
        LoggedModelOutput,
        Metric,
        Param,
        Run,
        RunData,
        RunInfo,
        RunInputs,
        RunOutputs,
        RunStatus,
        RunTag,
        ViewType,
    )

_LAZY: dict[str, str] = {
    "Dataset": "shipyard.tracking.entities:Dataset",
    "DatasetInput": "shipyard.tracking.entities:DatasetInput",
    "Experiment": "shipyard.tracking.entities:Experiment",
    "ExperimentTag": "shipyard.tracking.entities:ExperimentTag",
    "FileInfo": "shipyard.tracking.entities:FileInfo",
    "InputTag": "shipyard.tracking.entities:InputTag",
    "LifecycleStage": "shipyard.tracking.entities:LifecycleStage",
    "LoggedModelInput": "shipyard.tracking.entities:LoggedModelInput",
    "LoggedModelOutput": "shipyard.tracking.entities:LoggedModelOutput",
    "Metric": "shipyard.tracking.entities:Metric",
    "Param": "shipyard.tracking.entities:Param",
    "Run": "shipyard.tracking.entities:Run",
    "RunData": "shipyard.tracking.entities:RunData",
    "RunInfo": "shipyard.tracking.entities:RunInfo",
    "RunInputs": "shipyard.tracking.entities:RunInputs",
    "RunOutputs": "shipyard.tracking.entities:RunOutputs",
    "RunStatus": "shipyard.tracking.entities:RunStatus",
    "RunTag": "shipyard.tracking.entities:RunTag",
    "ViewType": "shipyard.tracking.entities:ViewType",
    "model_registry": "shipyard.entities.model_registry",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

__all__ = [
    "Dataset",
    "DatasetInput",
    "Experiment",
    "ExperimentTag",
    "FileInfo",
    "InputTag",
    "LifecycleStage",
    "LoggedModelInput",
    "LoggedModelOutput",
    "Metric",
    "Param",
    "Run",
    "RunData",
    "RunInfo",
    "RunInputs",
    "RunOutputs",
    "RunStatus",
    "RunTag",
    "ViewType",
    "model_registry",
]
