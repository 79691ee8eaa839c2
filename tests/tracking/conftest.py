"""Fixtures for tracking tests: a fresh embedded store per test (or on the session's PostgreSQL
database from tests/conftest.py), and clean fluent state."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.tracking import fluent, fluent_state
from shipyard.tracking.store import AbstractTrackingStore, get_tracking_store


@pytest.fixture()
def sqlite_uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'shipyard.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs on sqlite, and on PostgreSQL when a server is configured."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shipyard.db'}"
    return str(request.getfixturevalue("postgres_uri"))


@pytest.fixture()
def store(store_uri: str, tmp_path: Path) -> AbstractTrackingStore:
    return get_tracking_store(store_uri, (tmp_path / "artifacts").as_uri())


@pytest.fixture()
def fluent_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A temporary working directory with the embedded default store and no fluent state."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHIPYARD_TRACKING_URI", raising=False)
    fluent.set_tracking_uri(None)
    monkeypatch.setattr(fluent_state.STATE, "experiment_id", None)
    yield tmp_path
    while fluent.active_run() is not None:
        fluent.end_run()
    fluent.set_tracking_uri(None)


@pytest.fixture()
def experiment_name() -> str:
    """A name no other test uses (the PostgreSQL database is shared by the session)."""
    return f"exp-{uuid.uuid4().hex[:10]}"
