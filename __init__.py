"""Shipyard: train, register, serve and ship models, speaking MLflow's conventions.

NOTE: the public names are resolved lazily (PEP 562 `__getattr__` over `_LAZY`, a table of
"module:attr" import strings, the same mechanism as the plugin tables), the one piece of logic
allowed in this file. Every `import shipyard.<anything>` runs this file first; importing tracking
(SQLAlchemy, alembic, pandas), the registry and pydantic-settings here cost about 0.6 s on every
start of `shipyard serve`, which needs none of them to serve a local model directory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipyard.lazy import lazy_exports
from shipyard.version import __version__

if TYPE_CHECKING:
    from shipyard import entities, models, onnx, pyfunc, pytorch, sklearn, types
    from shipyard.client import Client, MlflowClient
    from shipyard.flavors.inference import infer_signature
    from shipyard.flavors.signature import (
        ColSpec,
        ModelSignature,
        ParamSchema,
        ParamSpec,
        Schema,
        TensorSpec,
    )
    from shipyard.model_logging import ModelInfo
    from shipyard.registry.fluent import register_model
    from shipyard.tracking.fluent import (
        active_run,
        create_experiment,
        end_run,
        flush_async_logging,
        get_artifact_uri,
        get_experiment,
        get_experiment_by_name,
        get_registry_uri,
        get_tracking_uri,
        last_active_run_id,
        log_artifact,
        log_artifacts,
        log_dict,
        log_figure,
        log_image,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        log_text,
        set_experiment,
        set_registry_uri,
        set_tag,
        set_tags,
        set_tracking_uri,
        start_run,
    )
    from shipyard.tracking.fluent_search import search_experiments, search_runs

_LAZY: dict[str, str] = {
    "Client": "shipyard.client:Client",
    "ColSpec": "shipyard.flavors.signature:ColSpec",
    "MlflowClient": "shipyard.client:MlflowClient",
    "ModelInfo": "shipyard.model_logging:ModelInfo",
    "ModelSignature": "shipyard.flavors.signature:ModelSignature",
    "ParamSchema": "shipyard.flavors.signature:ParamSchema",
    "ParamSpec": "shipyard.flavors.signature:ParamSpec",
    "Schema": "shipyard.flavors.signature:Schema",
    "TensorSpec": "shipyard.flavors.signature:TensorSpec",
    "active_run": "shipyard.tracking.fluent:active_run",
    "create_experiment": "shipyard.tracking.fluent:create_experiment",
    "end_run": "shipyard.tracking.fluent:end_run",
    "entities": "shipyard.entities",
    "flush_async_logging": "shipyard.tracking.fluent:flush_async_logging",
    "get_artifact_uri": "shipyard.tracking.fluent:get_artifact_uri",
    "get_experiment": "shipyard.tracking.fluent:get_experiment",
    "get_experiment_by_name": "shipyard.tracking.fluent:get_experiment_by_name",
    "get_registry_uri": "shipyard.tracking.fluent:get_registry_uri",
    "get_tracking_uri": "shipyard.tracking.fluent:get_tracking_uri",
    "infer_signature": "shipyard.flavors.inference:infer_signature",
    "last_active_run_id": "shipyard.tracking.fluent:last_active_run_id",
    "log_artifact": "shipyard.tracking.fluent:log_artifact",
    "log_artifacts": "shipyard.tracking.fluent:log_artifacts",
    "log_dict": "shipyard.tracking.fluent:log_dict",
    "log_figure": "shipyard.tracking.fluent:log_figure",
    "log_image": "shipyard.tracking.fluent:log_image",
    "log_metric": "shipyard.tracking.fluent:log_metric",
    "log_metrics": "shipyard.tracking.fluent:log_metrics",
    "log_param": "shipyard.tracking.fluent:log_param",
    "log_params": "shipyard.tracking.fluent:log_params",
    "log_text": "shipyard.tracking.fluent:log_text",
    "models": "shipyard.models",
    "onnx": "shipyard.onnx",
    "pyfunc": "shipyard.pyfunc",
    "pytorch": "shipyard.pytorch",
    "register_model": "shipyard.registry.fluent:register_model",
    "search_experiments": "shipyard.tracking.fluent_search:search_experiments",
    "search_runs": "shipyard.tracking.fluent_search:search_runs",
    "set_experiment": "shipyard.tracking.fluent:set_experiment",
    "set_registry_uri": "shipyard.tracking.fluent:set_registry_uri",
    "set_tag": "shipyard.tracking.fluent:set_tag",
    "set_tags": "shipyard.tracking.fluent:set_tags",
    "set_tracking_uri": "shipyard.tracking.fluent:set_tracking_uri",
    "sklearn": "shipyard.sklearn",
    "start_run": "shipyard.tracking.fluent:start_run",
    "types": "shipyard.types",
}
"""Public name -> import string, imported on first access (see the NOTE above)."""

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

__all__ = [
    "Client",
    "ColSpec",
    "MlflowClient",
    "ModelInfo",
    "ModelSignature",
    "ParamSchema",
    "ParamSpec",
    "Schema",
    "TensorSpec",
    "__version__",
    "active_run",
    "create_experiment",
    "end_run",
    "entities",
    "flush_async_logging",
    "get_artifact_uri",
    "get_experiment",
    "get_experiment_by_name",
    "get_registry_uri",
    "get_tracking_uri",
    "infer_signature",
    "last_active_run_id",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_image",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_text",
    "models",
    "onnx",
    "pyfunc",
    "pytorch",
    "register_model",
    "search_experiments",
    "search_runs",
    "set_experiment",
    "set_registry_uri",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "sklearn",
    "start_run",
    "types",
]
