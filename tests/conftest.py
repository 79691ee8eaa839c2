"""Fixtures for every test: no process settings built yet, and the PostgreSQL test database.

The public Python API builds the process's `Settings` once, on first use, from `SHIPYARD_*`
variables (`shipyard.tracking.fluent_state.process_settings`). In tests the "process" is one
test: dropping the object before and after each one means a variable a test sets with
`monkeypatch` is read on the test's first API call, as it would be in a fresh process.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from shipyard.tracking.db import normalize_url
from shipyard.tracking.fluent_state import STATE

POSTGRES_URI = os.environ.get("SHIPYARD_TEST_POSTGRES_URI")


@pytest.fixture(autouse=True)
def _fresh_process_settings() -> Iterator[None]:
    STATE.settings = None
    yield
    STATE.settings = None


@pytest.fixture(scope="session")
def postgres_uri() -> Iterator[str]:
    """A uniquely named database on the test server, dropped at the end of the session."""
    if not POSTGRES_URI:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but SHIPYARD_TEST_POSTGRES_URI is not set (.ci/run starts PostgreSQL and sets it)")
        pytest.skip("SHIPYARD_TEST_POSTGRES_URI is not set (CI sets it; see .ci/run)")
    name = f"shipyard_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(normalize_url(sa.make_url(POSTGRES_URI)), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(POSTGRES_URI).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
