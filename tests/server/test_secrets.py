"""A tracking server started on a PostgreSQL URL with a password never prints the password: not
in its start-up lines, its logs or its answers, while it starts, serves and fails requests.

Runs only where SHIPYARD_TEST_POSTGRES_URI names a server (CI sets it); the test server trusts
local connections, so any password is accepted and the one below only has to stay unprinted.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests
import sqlalchemy as sa

PASSWORD = "s3cret-pw"
API = "/api/2.0/mlflow"


@pytest.fixture()
def backend_with_password(postgres_uri: str) -> str:
    """The session's PostgreSQL database, named by a URL that carries PASSWORD."""
    return sa.make_url(postgres_uri).set(password=PASSWORD).render_as_string(hide_password=False)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_server_never_prints_its_database_password(
    server_factory: Callable[..., Any], backend_with_password: str, workers: str
) -> None:
    assert PASSWORD in backend_with_password
    server = server_factory("--log-level", "debug", "--workers", workers, backend=backend_with_password)
    created = requests.post(
        server.url + API + "/experiments/create", json={"name": f"secrets-{uuid.uuid4().hex[:8]}"}, timeout=10
    )
    assert created.status_code == 200, created.text
    missing = requests.get(server.url + API + "/runs/get", params={"run_id": "0" * 32}, timeout=10)
    assert missing.status_code == 404
    bad = requests.post(server.url + API + "/runs/create", data=b"{not json", timeout=10)
    assert bad.status_code == 400
    answers = created.text + missing.text + bad.text
    server.process.terminate()
    server.process.wait(timeout=20)
    output = server.output()
    assert "shipyard server: backend postgresql" in output and ":***@" in output, output  # it did announce
    assert PASSWORD not in output, output
    assert PASSWORD not in answers
