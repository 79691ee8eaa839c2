"""Process-wide fluent settings: which store (tracking URI) and which experiment new runs use,
and the experiment calls of the fluent API."""

from __future__ import annotations

import os
import threading
from typing import Any

from shipyard.exceptions import AlreadyExists, InvalidInput, InvalidState
from shipyard.tracking import validation
from shipyard.tracking.client import TrackingClient, resolve_tracking_uri
from shipyard.tracking.entities import Experiment
from shipyard.tracking.store import AbstractTrackingStore, get_tracking_store


class _FluentState:
    """Process-wide choices MLflow also keeps process-wide: the tracking URI and the experiment.

    NOTE: deliberately global (one per process), as in MLflow: `set_tracking_uri` in a launcher
    applies to the training threads it starts.
    """

    def __init__(self) -> None:
        self.tracking_uri: str | None = None
        self.experiment_id: str | None = None
        self.last_run_id: str | None = None
        self.lock = threading.Lock()


STATE = _FluentState()


def set_tracking_uri(uri: str | os.PathLike[str] | None) -> None:
    """Use this store from now on; a plain folder path means a sqlite file `shipyard.db` in it;
    None goes back to `SHIPYARD_TRACKING_URI` or the embedded default."""
    if uri is None:
        STATE.tracking_uri = None
        return
    text = os.fspath(uri)
    if "://" not in text:
        text = f"sqlite:///{os.path.abspath(os.path.join(text, 'shipyard.db'))}"
    STATE.tracking_uri = text


def get_tracking_uri() -> str:
    """`set_tracking_uri`'s value, else `SHIPYARD_TRACKING_URI`, else sqlite in the cwd."""
    return resolve_tracking_uri(STATE.tracking_uri)


def current_store() -> AbstractTrackingStore:
    return get_tracking_store(get_tracking_uri())


def current_client() -> TrackingClient:
    return TrackingClient(get_tracking_uri())


def create_experiment(name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None) -> str:
    return current_client().create_experiment(name, artifact_location, tags)


def get_experiment(experiment_id: str) -> Experiment:
    return current_store().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    return current_store().get_experiment_by_name(name)


def set_experiment(experiment_name: str | None = None, experiment_id: str | None = None) -> Experiment:
    """Make an experiment the default for new runs, creating it by name if it does not exist."""
    if (experiment_name is None) == (experiment_id is None):
        raise InvalidInput("set_experiment needs exactly one of experiment_name and experiment_id")
    store = current_store()
    if experiment_id is not None:
        experiment = store.get_experiment(str(experiment_id))
    else:
        validation.check_experiment_name(experiment_name)
        experiment = store.get_experiment_by_name(experiment_name)  # type: ignore[arg-type]
        if experiment is None:
            try:
                experiment = store.get_experiment(store.create_experiment(experiment_name))  # type: ignore[arg-type]
            except AlreadyExists:  # another process created it just now
                experiment = store.get_experiment_by_name(experiment_name)  # type: ignore[arg-type,assignment]
    assert experiment is not None
    if experiment.lifecycle_stage != "active":
        raise InvalidState(f"experiment {experiment.name!r} is deleted; restore it or choose another name")
    STATE.experiment_id = experiment.experiment_id
    return experiment


__all__ = [
    "STATE",
    "create_experiment",
    "current_client",
    "current_store",
    "get_experiment",
    "get_experiment_by_name",
    "get_tracking_uri",
    "set_experiment",
    "set_tracking_uri",
]
