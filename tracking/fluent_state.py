"""Process-wide fluent state: the process's `Settings`, which store (tracking URI) and which
experiment new runs use, and the experiment calls of the fluent API that need no client.

The public Python API (`start_run`, `shipyard.Client()`, `pyfunc.load_model`, `register_model`)
is an edge: its first use in a process builds the one `Settings` object (`process_settings`),
kept here and passed down explicitly from there.
"""

from __future__ import annotations

import os
import threading

from shipyard.exceptions import AlreadyExists, InvalidInput, InvalidState
from shipyard.settings import Settings
from shipyard.tracking import validation
from shipyard.tracking.entities import Experiment
from shipyard.tracking.store import AbstractTrackingStore, default_tracking_uri, get_tracking_store


class _FluentState:
    """Process-wide choices MLflow also keeps process-wide: the tracking URI and the experiment,
    and the process's settings.

    NOTE: deliberately global (one per process), as in MLflow: `set_tracking_uri` in a launcher
    applies to the training threads it starts.
    """

    def __init__(self) -> None:
        self.settings: Settings | None = None
        """Built on first use from `SHIPYARD_*` variables (see `process_settings`)."""
        self.tracking_uri: str | None = None
        self.experiment_id: str | None = None
        self.last_run_id: str | None = None
        self.lock = threading.Lock()


STATE = _FluentState()


def process_settings() -> Settings:
    """The process's settings: built from `SHIPYARD_*` variables on first use, then the same object.

    NOTE: read once, so a variable changed later in the process is not seen, except after
    `set_tracking_uri(None)`, which reads the environment again on the next use (and is how
    tests start from a clean state)."""
    settings = STATE.settings
    if settings is None:
        with STATE.lock:
            settings = STATE.settings
            if settings is None:
                settings = STATE.settings = Settings()
    return settings


def set_tracking_uri(uri: str | os.PathLike[str] | None) -> None:
    """Use this store from now on; a plain folder path means a sqlite file `shipyard.db` in it;
    None goes back to `SHIPYARD_TRACKING_URI` or the embedded default (the environment is read
    again on the next use)."""
    if uri is None:
        with STATE.lock:
            STATE.tracking_uri = None
            STATE.settings = None
        return
    text = os.fspath(uri)
    if "://" not in text:
        text = f"sqlite:///{os.path.abspath(os.path.join(text, 'shipyard.db'))}"
    STATE.tracking_uri = text


def get_tracking_uri() -> str:
    """`set_tracking_uri`'s value, else `SHIPYARD_TRACKING_URI`, else sqlite in the cwd."""
    return STATE.tracking_uri or process_settings().tracking_uri or default_tracking_uri()


def current_store() -> AbstractTrackingStore:
    return get_tracking_store(get_tracking_uri())


def get_experiment(experiment_id: str) -> Experiment:
    return current_store().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    return current_store().get_experiment_by_name(name)


def set_experiment(experiment_name: str | None = None, experiment_id: str | None = None) -> Experiment:
    """Make an experiment the default for new runs, creating it by name if it does not exist."""
    if (experiment_name is None) == (experiment_id is None):
        raise InvalidInput("set_experiment needs exactly one of experiment_name and experiment_id")
    store = current_store()
    experiment: Experiment | None
    if experiment_id is not None:
        experiment = store.get_experiment(str(experiment_id))
    else:
        name = validation.check_experiment_name(experiment_name)
        experiment = store.get_experiment_by_name(name)
        if experiment is None:
            try:
                experiment = store.get_experiment(store.create_experiment(name))
            except AlreadyExists:  # another process created it just now
                experiment = store.get_experiment_by_name(name)
    assert experiment is not None
    if experiment.lifecycle_stage != "active":
        raise InvalidState(f"experiment {experiment.name!r} is deleted; restore it or choose another name")
    STATE.experiment_id = experiment.experiment_id
    return experiment


__all__ = [
    "STATE",
    "current_store",
    "get_experiment",
    "get_experiment_by_name",
    "get_tracking_uri",
    "process_settings",
    "set_experiment",
    "set_tracking_uri",
]
