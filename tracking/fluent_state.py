"""Process-wide fluent state: the process's `Settings`, which stores (tracking and registry URI)
and which experiment new runs use, and the experiment calls of the fluent API that need no client.

The public Python API (`start_run`, `shipyard.Client()`, `pyfunc.load_model`, `register_model`)
is an edge: its first use in a process builds the one `Settings` object (`process_settings`),
kept here and passed down explicitly from there. `resolve_tracking_uri` and
`resolve_registry_uri` are the one answer to "which store" that every entry point asks.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from pydantic import ValidationError

from shipyard.exceptions import AlreadyExists, InvalidInput, InvalidState
from shipyard.mlflow_names import refuses
from shipyard.settings import Settings, problems
from shipyard.tracking import validation
from shipyard.tracking.entities import Experiment
from shipyard.tracking.http_settings import RestClientSettings
from shipyard.tracking.store import (
    DEFAULT_EXPERIMENT_ID,
    AbstractTrackingStore,
    default_tracking_uri,
    get_tracking_store,
)


class _FluentState:
    """Process-wide choices MLflow also keeps process-wide: the tracking URI and the experiment,
    and the process's settings.

    NOTE: deliberately global (one per process), as in MLflow: `set_tracking_uri` in a launcher
    applies to the training threads it starts.
    """

    def __init__(self) -> None:
        self.settings: Settings | None = None
        """Built on first use from `SHIPYARD_*` / `MLFLOW_*` variables (see `process_settings`)."""
        self.http: RestClientSettings | None = None
        """The REST client's part of `settings`, built with it."""
        self.tracking_uri: str | None = None
        self.registry_uri: str | None = None
        self.experiment_id: str | None = None
        self.env_run_used = False
        """True once `start_run()` resumed the run `MLFLOW_RUN_ID` names (MLflow does it once)."""
        self.last_run_id: str | None = None
        self.lock = threading.Lock()


STATE = _FluentState()


def process_settings() -> Settings:
    """The process's settings: built from `SHIPYARD_*`, then `MLFLOW_*` variables on first use,
    then the same object.

    NOTE: read once, so a variable changed later in the process is not seen, except after
    `set_tracking_uri(None)`, which reads the environment again on the next use (and is how
    tests start from a clean state)."""
    settings = STATE.settings
    if settings is None:
        with STATE.lock:
            settings = STATE.settings
            if settings is None:
                try:
                    settings = Settings()
                except ValidationError as exc:
                    raise InvalidInput(problems(exc)) from None
                STATE.http = RestClientSettings.from_settings(settings)
                STATE.settings = settings
    return settings


def process_http() -> RestClientSettings:
    """How the process reaches a tracking server (credentials, TLS, retries), from its settings."""
    process_settings()
    http = STATE.http
    assert http is not None
    return http


def http_for(settings: Settings) -> RestClientSettings:
    """The REST client's settings of `settings`: the process's object when they are the process's."""
    return process_http() if settings is STATE.settings else RestClientSettings.from_settings(settings)


def _store_uri(uri: str | os.PathLike[str]) -> str:
    """A URI as given; a plain folder path means a sqlite file `shipyard.db` in it."""
    text = os.fspath(uri)
    if "://" not in text:
        text = f"sqlite:///{os.path.abspath(os.path.join(text, 'shipyard.db'))}"
    return text


def set_tracking_uri(uri: str | os.PathLike[str] | None) -> None:
    """Use this store from now on; a plain folder path means a sqlite file `shipyard.db` in it;
    None goes back to `SHIPYARD_TRACKING_URI` / `MLFLOW_TRACKING_URI` or the embedded default
    (the environment is read again on the next use)."""
    if uri is None:
        with STATE.lock:
            STATE.tracking_uri = None
            STATE.settings = None
            STATE.http = None
            STATE.env_run_used = False
        return
    STATE.tracking_uri = _store_uri(uri)


def set_registry_uri(uri: str | os.PathLike[str] | None) -> None:
    """Keep registered models in this store from now on (a folder path: `shipyard.db` in it);
    None goes back to `SHIPYARD_REGISTRY_URI` / `MLFLOW_REGISTRY_URI`, else the tracking URI."""
    STATE.registry_uri = None if uri is None else _store_uri(uri)


def resolve_tracking_uri(tracking_uri: str | None = None, settings: Settings | None = None) -> str:
    """The one answer to "which tracking store": an explicit URI, else `set_tracking_uri`'s, else
    `SHIPYARD_TRACKING_URI`, else `MLFLOW_TRACKING_URI` (both through `settings`; None means the
    process's), else the embedded sqlite default in the cwd."""
    if tracking_uri:
        return tracking_uri
    return STATE.tracking_uri or (settings or process_settings()).tracking_uri or default_tracking_uri()


def resolve_registry_uri(
    registry_uri: str | None = None, settings: Settings | None = None, tracking_uri: str | None = None
) -> str:
    """The one answer to "which registry store": an explicit URI, else `set_registry_uri`'s, else
    `SHIPYARD_REGISTRY_URI`, else `MLFLOW_REGISTRY_URI`, else the tracking URI (`tracking_uri`,
    or `resolve_tracking_uri`'s), as MLflow resolves it."""
    if registry_uri:
        return registry_uri
    chosen = STATE.registry_uri or (settings or process_settings()).registry_uri
    return chosen or resolve_tracking_uri(tracking_uri, settings)


def get_tracking_uri() -> str:
    """The current tracking URI (`resolve_tracking_uri` with the process's settings)."""
    return resolve_tracking_uri()


def get_registry_uri() -> str:
    """The current registry URI (`resolve_registry_uri` with the process's settings)."""
    return resolve_registry_uri()


def current_store() -> AbstractTrackingStore:
    return get_tracking_store(get_tracking_uri(), None, process_http())


def default_experiment_id(store: AbstractTrackingStore) -> str:
    """The experiment of a new fluent run when none is given, in MLflow's order: `set_experiment`'s,
    else `MLFLOW_EXPERIMENT_NAME`'s (created if missing), else `MLFLOW_EXPERIMENT_ID`'s, else
    the default experiment (each `SHIPYARD_*` name first)."""
    if STATE.experiment_id is not None:
        return STATE.experiment_id
    settings = process_settings()
    wanted_id = settings.experiment_id
    if settings.experiment_name is not None:
        experiment = _experiment_named(store, settings.experiment_name)
        if wanted_id is not None and wanted_id != experiment.experiment_id:
            raise InvalidInput(
                f"experiment_id {wanted_id!r} (SHIPYARD_EXPERIMENT_ID / MLFLOW_EXPERIMENT_ID) does not match "
                f"experiment {experiment.name!r} (id {experiment.experiment_id}) that experiment_name names"
            )
        return experiment.experiment_id
    if wanted_id is not None:
        return store.get_experiment(wanted_id).experiment_id
    return DEFAULT_EXPERIMENT_ID


def _experiment_named(store: AbstractTrackingStore, name: str | None) -> Experiment:
    """The experiment called `name`, created if it does not exist."""
    name = validation.check_experiment_name(name)
    experiment = store.get_experiment_by_name(name)
    if experiment is None:
        try:
            experiment = store.get_experiment(store.create_experiment(name))
        except AlreadyExists:  # another process created it just now
            experiment = store.get_experiment_by_name(name)
    assert experiment is not None
    return experiment


def take_env_run_id(store: AbstractTrackingStore) -> str | None:
    """`MLFLOW_RUN_ID`'s run for the first `start_run()` of the process, then None (MLflow
    resumes it once: later runs are new ones). As in MLflow, it must belong to the experiment
    `set_experiment` chose, if any."""
    with STATE.lock:
        if STATE.env_run_used:
            return None
        STATE.env_run_used = True
    run_id = process_settings().run_id
    chosen = STATE.experiment_id
    if run_id is not None and chosen is not None:
        found = store.get_run(run_id).info.experiment_id
        if found != chosen:
            raise InvalidState(
                f"run_id {run_id!r} (SHIPYARD_RUN_ID / MLFLOW_RUN_ID) is in experiment {found}, "
                f"but set_experiment chose experiment {chosen}"
            )
    return run_id


def wait_for_writes(synchronous: bool | None) -> bool:
    """Whether a fluent logging call waits until it is written: `synchronous` as given; None
    waits only when async logging is off (`SHIPYARD_ENABLE_ASYNC_LOGGING` /
    `MLFLOW_ENABLE_ASYNC_LOGGING`: on by default here, off by default in MLflow)."""
    return synchronous if synchronous is not None else not process_settings().enable_async_logging


def get_experiment(experiment_id: str) -> Experiment:
    return current_store().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    return current_store().get_experiment_by_name(name)


@refuses("trace_location")
def set_experiment(
    experiment_name: str | None = None, experiment_id: str | None = None, trace_location: Any = None
) -> Experiment:
    """Make an experiment the default for new runs, creating it by name if it does not exist."""
    if (experiment_name is None) == (experiment_id is None):
        raise InvalidInput("set_experiment needs exactly one of experiment_name and experiment_id")
    store = current_store()
    if experiment_id is not None:
        experiment = store.get_experiment(str(experiment_id))
    else:
        experiment = _experiment_named(store, experiment_name)
    if experiment.lifecycle_stage != "active":
        raise InvalidState(f"experiment {experiment.name!r} is deleted; restore it or choose another name")
    STATE.experiment_id = experiment.experiment_id
    return experiment


__all__ = [
    "STATE",
    "current_store",
    "default_experiment_id",
    "get_experiment",
    "get_experiment_by_name",
    "get_registry_uri",
    "get_tracking_uri",
    "http_for",
    "process_http",
    "process_settings",
    "resolve_registry_uri",
    "resolve_tracking_uri",
    "set_experiment",
    "set_registry_uri",
    "set_tracking_uri",
    "take_env_run_id",
    "wait_for_writes",
]
