"""Fixtures for tracking tests: a fresh embedded store per test, a PostgreSQL database per session
(only when SHIPYARD_TEST_POSTGRES_URI names a server), and clean fluent state."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from shipyard.tracking import fluent, fluent_state
from shipyard.tracking.db import normalize_url
from shipyard.tracking.store import AbstractTrackingStore, get_tracking_store

POSTGRES_URI = os.environ.get("SHIPYARD_TEST_POSTGRES_URI")


@pytest.fixture()
def sqlite_uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'shipyard.db'}"


@pytest.fixture(scope="session")
def postgres_uri() -> Iterator[str]:
    """A uniquely named database on the test server, dropped at the end of the session."""
    if not POSTGRES_URI:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but SHIPYARD_TEST_POSTGRES_URI is not set (.ci/run starts PostgreSQL and sets it)")
        pytest.skip("SHIPYARD_TEST_POSTGRES_URI is not set (CI sets it; see .ci/run)")
    name = f"shipyard_tracking_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(normalize_url(sa.make_url(POSTGRES_URI)), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(POSTGRES_URI).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


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
