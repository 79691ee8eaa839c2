"""MLflow's REST client variables (`MLFLOW_TRACKING_TOKEN`, `..._USERNAME`/`..._PASSWORD`, TLS
files, `MLFLOW_HTTP_REQUEST_*`) reach every request the client sends: against real `shipyard
server` subprocesses with authentication, and real TCP ports that hang up or never answer.

The list of every honoured variable, and the test proving each one, is in test_mlflow_variables.py.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

import shipyard
from shipyard.exceptions import TemporarilyUnavailable, Unauthenticated
from shipyard.tracking.http_settings import RestClientSettings

API = "/api/2.0/mlflow"
Reread = Callable[..., None]
pytestmark = pytest.mark.usefixtures("mlflow_env_clean")


def test_token_and_basic_auth_reach_the_server(
    server_factory: Callable[..., Any], tmp_path: Path, reread: Reread
) -> None:
    (tmp_path / "tokens").write_text("tok-mlflow\n")
    (tmp_path / "users").write_text("alice:wonderland\n")
    by_token = server_factory("--auth-token-file", str(tmp_path / "tokens"))
    by_user = server_factory("--basic-auth-file", str(tmp_path / "users"))
    reread(MLFLOW_HTTP_REQUEST_MAX_RETRIES="0")
    with pytest.raises(Unauthenticated):
        shipyard.Client(by_token.url).create_experiment("no-token")
    reread(MLFLOW_TRACKING_TOKEN="tok-mlflow")
    shipyard.Client(by_token.url).create_experiment("with-token")
    shipyard.set_tracking_uri(by_token.url)
    with shipyard.start_run():  # the fluent API and its artifact uploads send it too
        shipyard.log_text("hello", "note.txt")
    reread(MLFLOW_TRACKING_USERNAME="alice", MLFLOW_TRACKING_PASSWORD="wonderland")
    shipyard.Client(by_user.url).create_experiment("with-user")
    assert (
        "with-token"
        in requests.post(
            by_token.url + API + "/experiments/search",
            json={},
            headers={"Authorization": "Bearer tok-mlflow"},
            timeout=10,
        ).text
    )
    assert (
        "with-user"
        in requests.post(
            by_user.url + API + "/experiments/search", json={}, auth=("alice", "wonderland"), timeout=10
        ).text
    )


def test_tls_variables_reach_the_http_session(
    shared_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reread: Reread
) -> None:
    """No TLS server here: the session every request of the client goes through is read back."""
    ca, cert = tmp_path / "ca.pem", tmp_path / "client.pem"
    reread(MLFLOW_TRACKING_SERVER_CERT_PATH=str(ca), MLFLOW_TRACKING_CLIENT_CERT_PATH=str(cert))
    session = shipyard.Client(shared_server.url).store.client.session  # type: ignore[attr-defined]
    assert (session.verify, session.cert) == (str(ca), str(cert))
    monkeypatch.delenv("MLFLOW_TRACKING_SERVER_CERT_PATH")
    reread(MLFLOW_TRACKING_INSECURE_TLS="true")
    session = shipyard.Client(shared_server.url).store.client.session  # type: ignore[attr-defined]
    assert session.verify is False


class _Listener:
    """A real TCP port that accepts connections and, per `mode`, hangs up or never answers."""

    def __init__(self, mode: str) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted = 0
        self.mode = mode
        self.held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            if self.mode == "hang-up":
                conn.close()
            else:
                self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


def _failing_call(mode: str, reread: Reread, **variables: str) -> tuple[RestClientSettings, int]:
    """(the settings of the REST client that made the call, connections it opened) for a `Client`
    call against a `_Listener` that fails it."""
    listener = _Listener(mode)
    try:
        reread(**variables)
        client = shipyard.Client(listener.url)
        with pytest.raises(TemporarilyUnavailable):
            client.get_experiment("0")
        return client.store.client.settings, listener.accepted  # type: ignore[attr-defined]
    finally:
        listener.close()


def test_retries_and_backoff_reach_the_rest_client(reread: Reread) -> None:
    used, connections = _failing_call(
        "hang-up",
        reread,
        MLFLOW_HTTP_REQUEST_MAX_RETRIES="2",
        MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR="0.2",
        MLFLOW_HTTP_REQUEST_BACKOFF_JITTER="0.1",
    )
    assert connections == 3  # the first try and two retries
    assert used.backoff_s == 0.2 and used.jitter_s == 0.1


def test_timeout_reaches_the_rest_client(reread: Reread) -> None:
    """The listener never answers: the call ends only because the 1 s timeout applies."""
    used, connections = _failing_call(
        "silent", reread, MLFLOW_HTTP_REQUEST_TIMEOUT="1", MLFLOW_HTTP_REQUEST_MAX_RETRIES="0"
    )
    assert connections == 1 and used.timeout == 1.0
