"""What the server refuses: missing credentials (401, nothing written), paths escaping the artifact
root (400), bodies over the limits (413), malformed requests (400 naming the field)."""

from __future__ import annotations

import base64
import socket
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import requests

from shipyard.server.run import announce
from shipyard.server.settings import ServerSettings
from shipyard.settings import Settings

API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"


def _experiment_names(server: Any) -> list[str]:
    with sqlite3.connect(server.root / "shipyard.db") as db:
        return [row[0] for row in db.execute("select name from experiments order by name")]


def test_token_auth_refuses_calls_without_the_token(server_factory: Callable[..., Any], tmp_path: Path) -> None:
    token_file = tmp_path / "tokens"
    token_file.write_text("# tokens\ns3cret-token\n")
    server = server_factory("--auth-token-file", str(token_file))
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic dTpw"}):
        answer = requests.post(
            server.url + API + "/experiments/create", json={"name": "sneaky"}, headers=headers, timeout=10
        )
        assert answer.status_code == 401 and answer.json()["error_code"] == "UNAUTHENTICATED"
        upload = requests.put(server.url + ARTIFACTS + "/0/x.txt", data=b"x", headers=headers, timeout=10)
        assert upload.status_code == 401
        assert (
            requests.get(server.url + "/api/2.0/mlflow/experiments/search", headers=headers, timeout=10).status_code
            == 401
        )
    assert "sneaky" not in _experiment_names(server)
    assert not (server.root / "artifacts" / "0" / "x.txt").exists()
    page = requests.get(server.url + "/ui/models", timeout=10, allow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login"
    browser = requests.Session()
    signed_in = browser.post(
        server.url + "/login", data={"token": "s3cret-token"}, headers={"Origin": server.url}, timeout=10
    )
    assert signed_in.status_code == 200 and "Experiments" in signed_in.text
    assert (
        "HttpOnly" in signed_in.history[0].headers["set-cookie"]
        and "SameSite=strict" in signed_in.history[0].headers["set-cookie"]
    )
    good = {"Authorization": "Bearer s3cret-token"}
    assert (
        requests.post(
            server.url + API + "/experiments/create", json={"name": "ok"}, headers=good, timeout=10
        ).status_code
        == 200
    )
    assert requests.get(server.url + "/health", timeout=10).status_code == 200


def test_shipyard_client_sends_the_token_from_the_environment(
    server_factory: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shipyard

    token_file = tmp_path / "tokens"
    token_file.write_text("tok-123\n")
    server = server_factory("--auth-token-file", str(token_file))
    monkeypatch.setenv("SHIPYARD_TRACKING_TOKEN", "tok-123")
    shipyard.set_tracking_uri(None)  # the process reads its variables again
    assert shipyard.Client(server.url + "/").create_experiment("with-token")
    assert "with-token" in _experiment_names(server)


def test_basic_auth_users_file(server_factory: Callable[..., Any], tmp_path: Path) -> None:
    users = tmp_path / "users"
    users.write_text("alice:wonderland\n")
    server = server_factory("--basic-auth-file", str(users))
    bad = "Basic " + base64.b64encode(b"alice:wrong").decode()
    assert (
        requests.post(
            server.url + API + "/experiments/create", json={"name": "x"}, headers={"Authorization": bad}, timeout=10
        ).status_code
        == 401
    )
    answer = requests.post(
        server.url + API + "/experiments/create", json={"name": "x"}, auth=("alice", "wonderland"), timeout=10
    )
    assert answer.status_code == 200
    assert _experiment_names(server) == ["Default", "x"]


def test_path_traversal_is_refused(shared_server: Any) -> None:
    url = shared_server.url + ARTIFACTS
    for path in (
        "/..%2F..%2Fetc%2Fpasswd",
        "/0/..%2F..%2F..%2Fescape.txt",
        "/%2Fetc%2Fpasswd",
        "/.shipyard/logged-models/x.json",
    ):
        assert requests.put(url + path, data=b"x", timeout=10).status_code == 400, path
        assert requests.get(url + path, timeout=10).status_code in (400, 404), path
    assert requests.get(url, params={"path": "../.."}, timeout=10).status_code == 400
    assert requests.put(url + "/model-versions/sha256/abc/MLmodel", data=b"x", timeout=10).status_code == 403
    assert not (shared_server.root / "escape.txt").exists()
    run = requests.post(shared_server.url + API + "/runs/create", json={"experiment_id": "0"}, timeout=10).json()["run"]
    listing = requests.get(
        shared_server.url + API + "/artifacts/list",
        params={"run_id": run["info"]["run_id"], "path": "../../.."},
        timeout=10,
    )
    assert listing.status_code == 400 and listing.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_oversized_bodies_get_413_and_leave_nothing(server_factory: Callable[..., Any]) -> None:
    server = server_factory("--max-body-bytes", "2048", "--max-artifact-bytes", "4096")
    big = {"name": "x" * 5000}
    answer = requests.post(server.url + API + "/experiments/create", json=big, timeout=10)
    assert answer.status_code == 413 and answer.json()["error_code"] == "REQUEST_TOO_LARGE"

    def chunks() -> Any:  # no Content-Length: the limit must hold while streaming too
        for _ in range(10):
            yield b"y" * 1000

    for data in (b"z" * 5000, chunks()):
        upload = requests.put(server.url + ARTIFACTS + "/0/big.bin", data=data, timeout=10)
        assert upload.status_code == 413
    folder = server.root / "artifacts" / "0"
    assert not folder.exists() or list(folder.iterdir()) == []
    assert requests.put(server.url + ARTIFACTS + "/0/small.bin", data=b"a" * 100, timeout=10).status_code == 200


def test_malformed_requests_get_400_naming_the_field(shared_server: Any) -> None:
    url = shared_server.url + API
    cases = [
        ("POST", "/experiments/create", b"{not json", "JSON"),
        ("POST", "/experiments/create", b"[1, 2]", "JSON object"),
        ("POST", "/experiments/create", b'{"name": 5}', "'name'"),
        ("POST", "/experiments/create", b"{}", "'name'"),
        ("POST", "/runs/log-batch", b'{"run_id": "abc", "metrics": [{"key": "k", "value": "high"}]}', "value"),
        ("POST", "/runs/log-batch", b'{"run_id": "abc", "metrics": [7]}', "metrics[0]"),
        ("POST", "/runs/log-metric", b'{"run_id": "abc", "key": "k", "value": 1, "step": "x"}', "'step'"),
        ("GET", "/runs/search", b"", ""),
        ("POST", "/runs/search", b'{"experiment_ids": ["0"], "max_results": -1}', "max_results"),
        ("POST", "/runs/search", b'{"experiment_ids": ["0"], "filter": "metrics.x >>> 1"}', "filter"),
        ("POST", "/model-versions/transition-stage", b'{"name": "m", "version": "1"}', "'stage'"),
        ("GET", "/metrics/get-history?run_id=..%2F..", b"", "run_id"),
        ("POST", "/model-versions/create", b'{"name": "m", "source": "/etc"}', "runs:/"),
        ("POST", "/model-versions/create", b'{"name": "m", "source": "mlflow-artifacts:/../x"}', "'..'"),
    ]
    for method, path, body, field in cases:
        answer = requests.request(
            method, url + path, data=body, headers={"Content-Type": "application/json"}, timeout=10
        )
        if path == "/runs/search" and method == "GET":
            assert answer.status_code == 405
            continue
        assert answer.status_code == 400, (path, answer.status_code, answer.text)
        payload = answer.json()
        assert payload["error_code"] in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST"), payload
        assert field in payload["message"], (path, payload)
    missing = requests.get(url + "/runs/get", params={"run_id": "0123456789abcdef0123456789abcdef"}, timeout=10)
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert requests.get(url + "/no/such/route", timeout=10).json()["error_code"] == "ENDPOINT_NOT_FOUND"


def test_start_up_says_how_the_server_is_protected(tmp_path: Path) -> None:
    local = " ".join(announce(ServerSettings(base=Settings(), host="127.0.0.1")))
    assert "no authentication" in local and "this machine only" in local
    public = "\n".join(announce(ServerSettings(base=Settings(), host="0.0.0.0")))
    assert "WARNING" in public and "WITHOUT AUTHENTICATION" in public
    tokens = tmp_path / "t"
    tokens.write_text("x\n")
    protected = ServerSettings(base=Settings(), host="0.0.0.0", auth_token_file=tokens)
    assert "authentication on" in " ".join(announce(protected))


def test_mlflow_client_sends_mlflow_tracking_token(server_factory: Callable[..., Any], tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    token_file = tmp_path / "tokens"
    token_file.write_text("mlflow-tok\n")
    server = server_factory("--auth-token-file", str(token_file))
    script = (
        "import mlflow; mlflow.set_experiment('with-mlflow-token'); "
        "r = mlflow.start_run(); mlflow.log_param('p', 1); mlflow.end_run(); print(r.info.run_id)"
    )
    base_env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": server.url,
        "PYTHONWARNINGS": "ignore",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    }
    refused = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={**base_env, "MLFLOW_TRACKING_TOKEN": "bad"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert refused.returncode != 0 and "with-mlflow-token" not in _experiment_names(server)
    accepted = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={**base_env, "MLFLOW_TRACKING_TOKEN": "mlflow-tok"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert accepted.returncode == 0, accepted.stderr[-2000:]
    assert "with-mlflow-token" in _experiment_names(server)


def test_client_chosen_artifact_locations_stay_under_the_root(shared_server: Any) -> None:
    url = shared_server.url + API + "/experiments/create"
    for location in ("file:///etc", "/tmp/elsewhere", "s3://bucket/x", "mlflow-artifacts:/../../etc"):
        answer = requests.post(url, json={"name": f"loc-{location}", "artifact_location": location}, timeout=10)
        assert answer.status_code == 400 and "artifact_location" in answer.json()["message"], location
    created = requests.post(
        url, json={"name": "custom-place", "artifact_location": "mlflow-artifacts:/team/a"}, timeout=10
    )
    experiment = requests.get(shared_server.url + API + "/experiments/get", params=created.json(), timeout=10).json()[
        "experiment"
    ]
    assert experiment["artifact_location"] == "mlflow-artifacts:/team/a"
    served = requests.get(shared_server.url + ARTIFACTS + "/0/../../x", timeout=10)
    assert served.status_code in (400, 404)


def test_a_client_gone_mid_upload_leaves_nothing_and_logs_no_fault(server_factory: Callable[..., Any]) -> None:
    server = server_factory()
    url = urlparse(server.url)
    with socket.create_connection((url.hostname, url.port)) as sock:
        head = f"PUT {ARTIFACTS}/0/cut/weights.bin HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Length: 8000000\r\n\r\n"
        sock.sendall(head.encode() + b"x" * 3_000_000)
        parts = server.root / "artifacts" / "0" / "cut"
        deadline = time.monotonic() + 30
        while not any(parts.glob(".upload-*.part")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any(parts.glob(".upload-*.part")), "the upload never started"
    deadline = time.monotonic() + 30
    while any(parts.glob(".upload-*.part")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(parts.iterdir()) == []  # neither the part file nor a half-written target
    assert requests.get(server.url + "/health", timeout=10).status_code == 200
    assert "Traceback" not in server.output() and "error id" not in server.output().lower()


def test_upload_under_a_file_is_a_400(shared_server: Any) -> None:
    url = shared_server.url + ARTIFACTS
    assert requests.put(url + "/0/plain.txt", data=b"x", timeout=10).status_code == 200
    answer = requests.put(url + "/0/plain.txt/inner.txt", data=b"y", timeout=10)
    assert answer.status_code == 400 and answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
