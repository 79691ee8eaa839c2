"""Experiments, runs, params, metrics, tags and artifacts: stores, the client and the fluent API.

NOTE: names resolve lazily through `_LAZY` (import strings, PEP 562 `__getattr__`): serving
imports `shipyard.tracking.artifacts` and `shipyard.tracking.store`, which run this file first,
and must not pull in the SQL store, pandas or the fluent API to resolve a local model directory.
`MlflowClient` is the one name pointing up (to the root `shipyard.client`, tracking plus the
registry): MLflow's import path `mlflow.tracking.MlflowClient`, allowed by name in the import-graph
test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipyard.lazy import lazy_exports

if TYPE_CHECKING:
    from shipyard.client import MlflowClient
    from shipyard.tracking.artifacts import (
        ARTIFACT_REPOSITORIES,
        ArtifactRepository,
        LocalArtifactRepository,
        get_artifact_repository,
    )
    from shipyard.tracking.client import TrackingClient
    from shipyard.tracking.entities import (
        Experiment,
        ExperimentTag,
        FileInfo,
        LifecycleStage,
        Metric,
        Param,
        Run,
        RunData,
        RunInfo,
        RunStatus,
        RunTag,
        ViewType,
    )
    from shipyard.tracking.fluent import (
        ActiveRun,
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
    from shipyard.tracking.store import STORES, AbstractTrackingStore, get_tracking_store

_LAZY: dict[str, str] = {
    "ARTIFACT_REPOSITORIES": "shipyard.tracking.artifacts:ARTIFACT_REPOSITORIES",
    "AbstractTrackingStore": "shipyard.tracking.store:AbstractTrackingStore",
    "ActiveRun": "shipyard.tracking.fluent:ActiveRun",
    "ArtifactRepository": "shipyard.tracking.artifacts:ArtifactRepository",
    "Experiment": "shipyard.tracking.entities:Experiment",
    "ExperimentTag": "shipyard.tracking.entities:ExperimentTag",
    "FileInfo": "shipyard.tracking.entities:FileInfo",
    "LifecycleStage": "shipyard.tracking.entities:LifecycleStage",
    "LocalArtifactRepository": "shipyard.tracking.artifacts:LocalArtifactRepository",
    "Metric": "shipyard.tracking.entities:Metric",
    "MlflowClient": "shipyard.client:MlflowClient",
    "Param": "shipyard.tracking.entities:Param",
    "Run": "shipyard.tracking.entities:Run",
    "RunData": "shipyard.tracking.entities:RunData",
    "RunInfo": "shipyard.tracking.entities:RunInfo",
    "RunStatus": "shipyard.tracking.entities:RunStatus",
    "RunTag": "shipyard.tracking.entities:RunTag",
    "STORES": "shipyard.tracking.store:STORES",
    "TrackingClient": "shipyard.tracking.client:TrackingClient",
    "ViewType": "shipyard.tracking.entities:ViewType",
    "active_run": "shipyard.tracking.fluent:active_run",
    "create_experiment": "shipyard.tracking.fluent:create_experiment",
    "end_run": "shipyard.tracking.fluent:end_run",
    "flush_async_logging": "shipyard.tracking.fluent:flush_async_logging",
    "get_artifact_repository": "shipyard.tracking.artifacts:get_artifact_repository",
    "get_artifact_uri": "shipyard.tracking.fluent:get_artifact_uri",
    "get_experiment": "shipyard.tracking.fluent:get_experiment",
    "get_experiment_by_name": "shipyard.tracking.fluent:get_experiment_by_name",
    "get_registry_uri": "shipyard.tracking.fluent:get_registry_uri",
    "get_tracking_store": "shipyard.tracking.store:get_tracking_store",
    "get_tracking_uri": "shipyard.tracking.fluent:get_tracking_uri",
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
    "search_experiments": "shipyard.tracking.fluent_search:search_experiments",
    "search_runs": "shipyard.tracking.fluent_search:search_runs",
    "set_experiment": "shipyard.tracking.fluent:set_experiment",
    "set_registry_uri": "shipyard.tracking.fluent:set_registry_uri",
    "set_tag": "shipyard.tracking.fluent:set_tag",
    "set_tags": "shipyard.tracking.fluent:set_tags",
    "set_tracking_uri": "shipyard.tracking.fluent:set_tracking_uri",
    "start_run": "shipyard.tracking.fluent:start_run",
}
"""Public name -> import string, imported on first access (see the NOTE above)."""

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

__all__ = [
    "ARTIFACT_REPOSITORIES",
    "AbstractTrackingStore",
    "ActiveRun",
    "ArtifactRepository",
    "Experiment",
    "ExperimentTag",
    "FileInfo",
    "LifecycleStage",
    "LocalArtifactRepository",
    "Metric",
    "MlflowClient",
    "Param",
    "Run",
    "RunData",
    "RunInfo",
    "RunStatus",
    "RunTag",
    "STORES",
    "TrackingClient",
    "ViewType",
    "active_run",
    "create_experiment",
    "end_run",
    "flush_async_logging",
    "get_artifact_repository",
    "get_artifact_uri",
    "get_experiment",
    "get_experiment_by_name",
    "get_registry_uri",
    "get_tracking_store",
    "get_tracking_uri",
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
    "search_experiments",
    "search_runs",
    "set_experiment",
    "set_registry_uri",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
]
