"""Fixtures for autolog tests: a fresh sqlite store in a temporary working directory, and autolog
turned off again after each test (patches are process-wide)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import shipyard
from shipyard.tracking import fluent, fluent_state


@pytest.fixture()
def tracking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[shipyard.Client]:
    """A client of a fresh store, which the fluent API also uses; autolog is off at the end."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHIPYARD_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setattr(fluent_state.STATE, "experiment_id", None)
    uri = f"sqlite:///{tmp_path / 'shipyard.db'}"
    fluent.set_tracking_uri(uri)
    try:
        yield shipyard.Client(tracking_uri=uri)
    finally:
        shipyard.autolog(disable=True)
        while fluent.active_run() is not None:
            fluent.end_run()
        fluent.set_tracking_uri(None)


@pytest.fixture()
def last_run(tracking: shipyard.Client) -> Callable[[], shipyard.entities.Run]:
    """Reads the run autolog (or the test) started last, after the writer flushed."""

    def read() -> shipyard.entities.Run:
        shipyard.flush_async_logging()
        run_id = shipyard.last_active_run_id()
        assert run_id is not None
        return tracking.get_run(run_id)

    return read
