"""The training-code API (MLflow's fluent names): an active run per context, non-blocking logging.

The stack of active runs lives in a `ContextVar`: nested `with start_run(nested=True)` blocks push
and pop, asyncio tasks and `contextvars.copy_context()` threads see their own stack. Metrics,
params and tags go through the store's background writer (see `async_logging`); `end_run`
flushes it, so a run reads back complete once it has ended.
"""

from __future__ import annotations

import atexit
import contextvars
import os
import time
from types import TracebackType
from typing import Any

from shipyard.exceptions import InvalidInput, InvalidState
from shipyard.mlflow_names import refuses
from shipyard.tracking import artifact_logging, system_tags, validation
from shipyard.tracking.artifacts import ArtifactRepository, get_artifact_repository, safe_relative_path
from shipyard.tracking.async_logging import AsyncWriter, writer_for
from shipyard.tracking.client import TrackingClient
from shipyard.tracking.entities import Run, RunData, RunInfo, RunStatus, RunTag
from shipyard.tracking.fluent_state import (
    STATE,
    current_store,
    default_experiment_id,
    get_experiment,
    get_experiment_by_name,
    get_registry_uri,
    get_tracking_uri,
    process_http,
    process_settings,
    set_experiment,
    set_registry_uri,
    set_tracking_uri,
    take_env_run_id,
    wait_for_writes,
)
from shipyard.tracking.store import AbstractTrackingStore


class ActiveRun:
    """A started run; use it as a context manager to end it (FAILED if the block raises)."""

    def __init__(self, run: Run, store: AbstractTrackingStore) -> None:
        self.info: RunInfo = run.info
        self.data: RunData = run.data
        self.store = store
        self.writer: AsyncWriter = writer_for(store, process_settings().cache_dir)

    @property
    def run_id(self) -> str:
        return self.info.run_id

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            status = RunStatus.FINISHED
        elif issubclass(exc_type, KeyboardInterrupt):
            status = RunStatus.KILLED
        else:
            status = RunStatus.FAILED
        if any(active is self for active in _ACTIVE_RUNS.get()):
            _end(self, status, raise_errors=exc_type is None)


_ACTIVE_RUNS: contextvars.ContextVar[tuple[ActiveRun, ...]] = contextvars.ContextVar("shipyard_active_runs", default=())


def active_run() -> ActiveRun | None:
    stack = _ACTIVE_RUNS.get()
    return stack[-1] if stack else None


def active_run_or_start() -> ActiveRun:
    stack = _ACTIVE_RUNS.get()
    if stack:
        return stack[-1]
    return start_run()


@refuses("log_system_metrics")
def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: dict[str, Any] | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
) -> ActiveRun:
    """Start a run (or resume `run_id`) and make it active; `with start_run():` ends it.

    As in MLflow, the process's first `start_run()` without `run_id` resumes the run that
    `MLFLOW_RUN_ID` (or `SHIPYARD_RUN_ID`) names, and a new run goes to the experiment of
    `set_experiment`, else `MLFLOW_EXPERIMENT_NAME`, else `MLFLOW_EXPERIMENT_ID`, else Default."""
    stack = _ACTIVE_RUNS.get()
    if stack and not nested:
        raise InvalidState(
            f"run {stack[-1].run_id} is already active; end it first or pass nested=True to start a child run"
        )
    store = current_store()
    if run_id is None:
        run_id = take_env_run_id(store)
    if run_id is not None:
        existing = store.get_run(run_id)
        if existing.info.lifecycle_stage != "active":
            raise InvalidState(f"run {run_id} is deleted; restore it before resuming it")
        store.update_run_info(run_id, RunStatus.RUNNING, None, run_name)
        run = store.get_run(run_id)
    else:
        parent = parent_run_id or (stack[-1].run_id if stack else None)
        run_tags = {**system_tags.resolve_system_tags(), **{k: str(v) for k, v in (tags or {}).items()}}
        if parent:
            run_tags[system_tags.PARENT_RUN_ID] = parent
        if description is not None:
            run_tags[system_tags.NOTE_CONTENT] = description
        for key, value in run_tags.items():
            validation.check_key(key, "tag")
            validation.tag_value(key, value)
        experiment = str(experiment_id) if experiment_id is not None else default_experiment_id(store)
        run = store.create_run(
            experiment,
            run_tags.get(system_tags.USER),
            None,
            [RunTag(k, v) for k, v in run_tags.items()],
            run_name,
        )
    active = ActiveRun(run, store)
    _ACTIVE_RUNS.set((*stack, active))
    STATE.last_run_id = active.run_id
    return active


def _end(active: ActiveRun, status: str, *, raise_errors: bool = True) -> None:
    """Flush, then mark the run ended. The status is written even when the flush failed."""
    stack = _ACTIVE_RUNS.get()
    _ACTIVE_RUNS.set(tuple(run for run in stack if run is not active))
    # NOTE: as in MLflow, the last active run is the one ended last: after nested runs, the parent.
    STATE.last_run_id = active.run_id
    flush_error: BaseException | None = None
    try:
        active.writer.flush(run_id=active.run_id)
    except Exception as error:  # noqa: BLE001 - re-raised below, after the status is recorded
        flush_error = error
    active.writer.forget_run(active.run_id)
    active.store.update_run_info(active.run_id, status, int(time.time() * 1000), None)
    if flush_error is not None and raise_errors:
        raise flush_error


def flush_async_logging() -> None:
    """Wait until everything logged so far through the current store is written."""
    active = active_run()
    (active.writer if active is not None else writer_for(current_store(), process_settings().cache_dir)).flush()


def end_run(status: str = RunStatus.FINISHED) -> None:
    """End the innermost active run (no-op when none is active)."""
    if status not in RunStatus.TERMINATED:
        raise InvalidInput(f"status {status!r} does not end a run; expected one of {', '.join(RunStatus.TERMINATED)}")
    active = active_run()
    if active is not None:
        _end(active, status)


def _end_runs_at_exit() -> None:
    """Runs still open when the interpreter exits are ended (FINISHED), as in MLflow."""
    while (active := active_run()) is not None:
        _end(active, RunStatus.FINISHED, raise_errors=False)


atexit.register(_end_runs_at_exit)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


_INT64_MIN, _INT64_MAX = validation.INT64_MIN, validation.INT64_MAX


@refuses("model_id", "dataset")
def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    synchronous: bool | None = None,
    timestamp: int | None = None,
    run_id: str | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> None:
    """Queue one metric value; returns in microseconds (the writer thread does the I/O).
    `synchronous=True` also waits until it is written."""
    stack = _ACTIVE_RUNS.get()
    active = stack[-1] if stack and run_id is None else None
    if active is None:
        active = active_run_or_start() if run_id is None else None
    if key.__class__ is not str or key not in _KNOWN_KEYS:
        _KNOWN_KEYS.add(validation.check_key(key))
    number = value if value.__class__ is float else validation.metric_value(key, value)
    # NOTE: an int past int64 takes the slow path, which refuses it (a database BIGINT stops there).
    step_value = (
        0
        if step is None
        else (step if step.__class__ is int and _INT64_MIN <= step <= _INT64_MAX else validation.metric_step(key, step))
    )
    ts = validation.metric_timestamp(key, timestamp) if timestamp is not None else time.time_ns() // 1_000_000
    writer = active.writer if active is not None else writer_for(current_store(), process_settings().cache_dir)
    writer.queue_metric(
        active.info.run_id if active is not None else validation.check_run_id(run_id), key, number, ts, step_value
    )
    if synchronous or (synchronous is None and not process_settings().enable_async_logging):
        writer.flush()


# NOTE: valid metric keys seen so far; a set lookup is cheaper than the validator's lru_cache.
_KNOWN_KEYS: set[str] = set()


@refuses("model_id", "dataset")
def log_metrics(
    metrics: dict[str, float],
    step: int | None = None,
    synchronous: bool | None = None,
    run_id: str | None = None,
    timestamp: int | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> None:
    ts = timestamp if timestamp is not None else _now_ms()
    for key, value in metrics.items():
        log_metric(key, value, step, synchronous=False, timestamp=ts, run_id=run_id)
    if wait_for_writes(synchronous):
        flush_async_logging()


def _target(run_id: str | None) -> tuple[str, AsyncWriter]:
    if run_id is None:
        active = active_run_or_start()
        return active.run_id, active.writer
    return validation.check_run_id(run_id), writer_for(current_store(), process_settings().cache_dir)


def log_param(key: str, value: Any, synchronous: bool | None = None, *, run_id: str | None = None) -> Any:
    """Queue a param; a different value for a key this run already has raises `InvalidInput` now."""
    target, writer = _target(run_id)
    writer.queue_param(target, validation.check_key(key, "param"), validation.param_value(key, value))
    if wait_for_writes(synchronous):
        writer.flush()
    return value


def log_params(params: dict[str, Any], synchronous: bool | None = None, run_id: str | None = None) -> None:
    for key, value in params.items():
        log_param(key, value, synchronous=False, run_id=run_id)
    if wait_for_writes(synchronous):
        flush_async_logging()


def set_tag(key: str, value: Any, synchronous: bool | None = None, *, run_id: str | None = None) -> None:
    target, writer = _target(run_id)
    writer.queue_tag(target, validation.check_key(key, "tag"), validation.tag_value(key, value))
    if wait_for_writes(synchronous):
        writer.flush()


def set_tags(tags: dict[str, Any], synchronous: bool | None = None, *, run_id: str | None = None) -> None:
    for key, value in tags.items():
        set_tag(key, value, synchronous=False, run_id=run_id)
    if wait_for_writes(synchronous):
        flush_async_logging()


def _repository(run_id: str | None = None) -> ArtifactRepository:
    if run_id is None:
        return get_artifact_repository(active_run_or_start().info.artifact_uri, process_http())
    return get_artifact_repository(current_store().get_run(run_id).info.artifact_uri, process_http())


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """The active run's artifact URI, or that of a path under it."""
    base = active_run_or_start().info.artifact_uri
    relative = safe_relative_path(artifact_path)
    return f"{base}/{relative}" if relative else base


def log_artifact(
    local_path: str | os.PathLike[str], artifact_path: str | None = None, run_id: str | None = None
) -> None:
    _repository(run_id).log_artifact(local_path, artifact_path)


def log_artifacts(
    local_dir: str | os.PathLike[str], artifact_path: str | None = None, run_id: str | None = None
) -> None:
    _repository(run_id).log_artifacts(local_dir, artifact_path)


def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    artifact_logging.log_text(_repository(run_id), text, artifact_file)


def log_dict(dictionary: Any, artifact_file: str, run_id: str | None = None) -> None:
    artifact_logging.log_dict(_repository(run_id), dictionary, artifact_file)


@refuses("key", "step", "timestamp")
def log_image(
    image: Any,
    artifact_file: str | None = None,
    key: str | None = None,
    step: int | None = None,
    timestamp: int | None = None,
    synchronous: bool | None = False,
    *,
    run_id: str | None = None,
) -> None:
    """Write `image` as the artifact `artifact_file` (always synchronously)."""
    if artifact_file is None:
        raise InvalidInput("log_image needs artifact_file (image series by key are not supported)")
    artifact_logging.log_image(_repository(run_id), image, artifact_file)


def log_figure(
    figure: Any, artifact_file: str, *, save_kwargs: dict[str, Any] | None = None, run_id: str | None = None
) -> None:
    artifact_logging.log_figure(_repository(run_id), figure, artifact_file, save_kwargs=save_kwargs)


def last_active_run_id() -> str | None:
    """The active run's id, else the id of the run this process ended last (None if none)."""
    active = active_run()
    return active.run_id if active is not None else STATE.last_run_id


def last_active_run() -> Run | None:
    """MLflow's `last_active_run`: that run as the store has it now (MLflow users read its data)."""
    run_id = last_active_run_id()
    return current_client().get_run(run_id) if run_id is not None else None


def current_client() -> TrackingClient:
    """A client of the fluent store, with the process's settings."""
    return TrackingClient(settings=process_settings())


@refuses("trace_location")
def create_experiment(
    name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None, trace_location: Any = None
) -> str:
    return current_client().create_experiment(name, artifact_location, tags)


__all__ = [
    "ActiveRun",
    "active_run",
    "active_run_or_start",
    "create_experiment",
    "end_run",
    "flush_async_logging",
    "get_artifact_uri",
    "get_experiment",
    "get_experiment_by_name",
    "get_registry_uri",
    "get_tracking_uri",
    "last_active_run",
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
    "set_experiment",
    "set_registry_uri",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
]
