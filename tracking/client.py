"""The lower-level tracking API (MLflow's `MlflowClient` names): explicit ids, synchronous writes.

Reads first flush this process's background writer for the same store, so what the fluent API
logged a moment ago is visible. The root `shipyard.Client` combines this class with the
registry's client methods.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

from shipyard.exceptions import InvalidInput
from shipyard.mlflow_names import refuses
from shipyard.settings import Settings
from shipyard.tracking import artifact_logging, validation
from shipyard.tracking.artifacts import ArtifactRepository, get_artifact_repository
from shipyard.tracking.async_logging import flush_writer
from shipyard.tracking.entities import (
    DatasetInput,
    Experiment,
    ExperimentTag,
    FileInfo,
    LoggedModelInput,
    LoggedModelOutput,
    Metric,
    Param,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from shipyard.tracking.fluent_state import http_for, process_settings, resolve_registry_uri, resolve_tracking_uri
from shipyard.tracking.paging import PagedList
from shipyard.tracking.store import (
    SEARCH_MAX_RESULTS_DEFAULT,
    AbstractTrackingStore,
    get_tracking_store,
)


class TrackingClient:
    """Experiments, runs and their data in the store a tracking URI names."""

    @refuses("workspace_store_uri")
    def __init__(
        self,
        tracking_uri: str | None = None,
        registry_uri: str | None = None,
        workspace_store_uri: str | None = None,
        *,
        settings: Settings | None = None,
    ) -> None:
        """`settings` None means the process's (`fluent_state.process_settings`): this public
        constructor is an edge, like `start_run`. No URI means the current one, the same answer
        the fluent API gets (`set_tracking_uri`, then the variables)."""
        if settings is None:
            settings = process_settings()
        self.tracking_uri = resolve_tracking_uri(tracking_uri, settings)
        self.registry_uri = resolve_registry_uri(registry_uri, settings, self.tracking_uri)
        self._settings = settings
        self._http = http_for(settings)

    @property
    def store(self) -> AbstractTrackingStore:
        return get_tracking_store(self.tracking_uri, None, self._http)

    def _read_store(self) -> AbstractTrackingStore:
        store = self.store
        flush_writer(store)
        return store

    # --- experiments --------------------------------------------------------------------------
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None
    ) -> str:
        return self.store.create_experiment(
            name, artifact_location, [ExperimentTag(k, str(v)) for k, v in (tags or {}).items()]
        )

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self.store.get_experiment(experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return self.store.get_experiment_by_name(name)

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        return self.store.search_experiments(view_type, max_results, filter_string, order_by, page_token)

    def delete_experiment(self, experiment_id: str) -> None:
        self.store.delete_experiment(experiment_id)

    def restore_experiment(self, experiment_id: str) -> None:
        self.store.restore_experiment(experiment_id)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self.store.rename_experiment(experiment_id, new_name)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        self.store.set_experiment_tag(experiment_id, ExperimentTag(key, str(value)))

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self.store.delete_experiment_tag(experiment_id, key)

    # --- runs ---------------------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: dict[str, Any] | None = None,
        run_name: str | None = None,
        user_id: str | None = None,
    ) -> Run:
        run_tags = [RunTag(validation.check_key(k, "tag"), validation.tag_value(k, v)) for k, v in (tags or {}).items()]
        user = user_id or (tags or {}).get("mlflow.user")
        return self.store.create_run(str(experiment_id), user, start_time, run_tags, run_name)

    def get_run(self, run_id: str) -> Run:
        return self._read_store().get_run(run_id)

    def get_parent_run(self, run_id: str) -> Run | None:
        parent = self.get_run(run_id).info.parent_run_id
        return None if parent is None else self.get_run(parent)

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        info = self.get_run(run_id).info
        self.store.update_run_info(run_id, status or info.status, info.end_time, name)

    def set_terminated(self, run_id: str, status: str = RunStatus.FINISHED, end_time: int | None = None) -> RunInfo:
        if status not in RunStatus.TERMINATED:
            raise InvalidInput(
                f"status {status!r} does not end a run; expected one of {', '.join(RunStatus.TERMINATED)}"
            )
        flush_writer(self.store)
        return self.store.update_run_info(run_id, status, end_time or int(time.time() * 1000), None)

    def delete_run(self, run_id: str) -> None:
        self.store.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        self.store.restore_run(run_id)

    def search_runs(
        self,
        experiment_ids: Sequence[str] | str,
        filter_string: str = "",
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        ids = [experiment_ids] if isinstance(experiment_ids, str) else list(experiment_ids)
        return self._read_store().search_runs(ids, filter_string, run_view_type, max_results, order_by, page_token)

    # --- run data (synchronous, as MLflow's client is: `synchronous` asks for what always happens) ----
    @refuses("dataset_name", "dataset_digest", "model_id")
    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
        synchronous: bool | None = None,
        dataset_name: str | None = None,
        dataset_digest: str | None = None,
        model_id: str | None = None,
    ) -> None:
        metric = Metric(
            validation.check_key(key),
            validation.metric_value(key, value),
            validation.metric_timestamp(key, timestamp) if timestamp is not None else int(time.time() * 1000),
            validation.metric_step(key, step),
        )
        self.store.log_batch(run_id, [metric], [], [])

    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> Any:
        self.store.log_batch(
            run_id, [], [Param(validation.check_key(key, "param"), validation.param_value(key, value))], []
        )
        return value

    def set_tag(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> None:
        self.store.log_batch(
            run_id, [], [], [RunTag(validation.check_key(key, "tag"), validation.tag_value(key, value))]
        )

    def delete_tag(self, run_id: str, key: str) -> None:
        self.store.delete_tag(run_id, key)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        synchronous: bool | None = None,
    ) -> None:
        for metric in metrics:
            validation.check_key(metric.key)
            validation.metric_timestamp(metric.key, metric.timestamp)
            validation.metric_step(metric.key, metric.step)
        for param in params:
            validation.check_key(param.key, "param")
            validation.param_value(param.key, param.value)
        for tag in tags:
            validation.check_key(tag.key, "tag")
        self.store.log_batch(run_id, list(metrics), list(params), list(tags))

    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[DatasetInput] | None = None,
        models: Sequence[LoggedModelInput] | None = None,
    ) -> None:
        """The datasets and logged models a run used, kept in the tracking store."""
        self.store.log_inputs(run_id, list(datasets or []), list(models or []))

    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        self.store.log_outputs(run_id, list(models))

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        return self._read_store().get_metric_history(run_id, key)

    # --- artifacts ----------------------------------------------------------------------------
    def artifact_repository(self, run_id: str) -> ArtifactRepository:
        return get_artifact_repository(self.store.get_run(run_id).info.artifact_uri, self._http)

    def log_artifact(self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        self.artifact_repository(run_id).log_artifact(local_path, artifact_path)

    def log_artifacts(self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        self.artifact_repository(run_id).log_artifacts(local_dir, artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        artifact_logging.log_text(self.artifact_repository(run_id), text, artifact_file)

    def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> None:
        artifact_logging.log_dict(self.artifact_repository(run_id), dictionary, artifact_file)

    @refuses("key", "step", "timestamp")
    def log_image(
        self,
        run_id: str,
        image: Any,
        artifact_file: str | None = None,
        key: str | None = None,
        step: int | None = None,
        timestamp: int | None = None,
        synchronous: bool | None = None,
    ) -> None:
        if artifact_file is None:
            raise InvalidInput("log_image needs artifact_file (image series by key are not supported)")
        artifact_logging.log_image(self.artifact_repository(run_id), image, artifact_file)

    def log_figure(
        self, run_id: str, figure: Any, artifact_file: str, *, save_kwargs: dict[str, Any] | None = None
    ) -> None:
        artifact_logging.log_figure(self.artifact_repository(run_id), figure, artifact_file, save_kwargs=save_kwargs)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        return self.artifact_repository(run_id).list_artifacts(path)

    def download_artifacts(self, run_id: str, path: str = "", dst_path: str | os.PathLike[str] | None = None) -> str:
        return self.artifact_repository(run_id).download_artifacts(path, dst_path)


__all__ = ["TrackingClient"]
