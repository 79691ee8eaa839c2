"""A real `shipyard server` subprocess on a free 127.0.0.1 port, and the mlflow-client training
run against it (shared by the compatibility, registry and browser tests of one session)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from shipyard.tracking import fluent, fluent_state

HERE = Path(__file__).resolve().parent
SHIPYARD = str(Path(sys.executable).parent / "shipyard")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    root: Path
    db_uri: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_server(root: Path, *extra: str, port: int | None = None, backend: str | None = None) -> Server:
    root.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    db_uri = backend or f"sqlite:///{root / 'shipyard.db'}"
    log = root / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                SHIPYARD,
                "server",
                "--backend-store-uri",
                db_uri,
                "--default-artifact-root",
                str(root / "artifacts"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                *extra,
            ],
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", root, db_uri, process, log)
    wait_healthy(server, "shipyard server", 60)
    return server


def wait_healthy(server: Server, what: str, timeout: float) -> None:
    """Until `server` answers /health with 200; killed, with its log in the error, if it exits
    or does not answer within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{what} exited early:\n{server.output()}")
        try:
            if requests.get(server.url + "/health", timeout=5).status_code == 200:
                return
        except requests.RequestException:  # NOTE: a read timeout too, while a server's workers start
            time.sleep(0.2)
    server.process.kill()
    raise RuntimeError(f"{what} did not answer /health within {timeout} s:\n{server.output()}")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture()
def server_factory(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def make(*extra: str, root: Path | None = None, port: int | None = None, backend: str | None = None) -> Server:
        server = start_server(root or tmp_path / f"server{len(started)}", *extra, port=port, backend=backend)
        started.append(server)
        return server

    yield make
    for server in started:
        stop_server(server)


@pytest.fixture(scope="session")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(tmp_path_factory.mktemp("shared-server"))
    yield server
    stop_server(server)


def train_with_mlflow(server: Server, work: Path) -> dict[str, Any]:
    """Run the mlflow-client training script against `server`; what it printed."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": server.url, "PYTHONWARNINGS": "ignore"}
    env.pop("MLFLOW_TRACKING_TOKEN", None)
    out = subprocess.run(
        [sys.executable, str(HERE / "mlflow_train.py"), "iris-remote"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, f"{out.stderr[-4000:]}\n--- server log ---\n{server.output()[-4000:]}"
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture(scope="session")
def mlflow_run(shared_server: Server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The mlflow-client training script's run on the shared server (what it printed)."""
    return train_with_mlflow(shared_server, tmp_path_factory.mktemp("mlflow-client"))


def start_mlflow_server(root: Path) -> Server:
    """A real `mlflow server` (sqlite store, artifacts served through its proxy), the reference
    whose artifact URIs are `mlflow-artifacts:/...`. No `MLFLOW_*` variable of the tests reaches
    it; its own process group, because it forks uvicorn workers (and, unless turned off here, a
    job runner) that must stop with it."""
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    db_uri = f"sqlite:///{root / 'mlflow.db'}"
    log = root / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(PYTHONWARNINGS="ignore", MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "mlflow"), "server", "--backend-store-uri", db_uri,
             "--artifacts-destination", str(root / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
             "--workers", "1"],
            cwd=root, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip
    server = Server(f"http://127.0.0.1:{port}", root, db_uri, process, log)
    try:
        wait_healthy(server, "mlflow server", 180)
    except BaseException:
        stop_mlflow_server(server)
        raise
    return server


def stop_mlflow_server(server: Server) -> None:
    """SIGTERM to the server's whole process group, then SIGKILL to what is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        server.process.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait()


@pytest.fixture(scope="session")
def mlflow_server_control() -> tuple[Callable[[Path], Server], Callable[[Server], None]]:
    """`(start_mlflow_server, stop_mlflow_server)`, for test modules (they cannot import a conftest)."""
    return start_mlflow_server, stop_mlflow_server


@pytest.fixture(scope="session")
def mlflow_tracking_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real `mlflow server` for the session (see start_mlflow_server)."""
    server = start_mlflow_server(tmp_path_factory.mktemp("mlflow-server"))
    yield server
    stop_mlflow_server(server)


@pytest.fixture()
def serve_model(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """`serve_model(model_uri, **variables)`: a `shipyard serve -m model_uri` subprocess with only
    those `MLFLOW_*`/`SHIPYARD_*` variables set (its cache under tmp_path); its URL once healthy."""
    started: list[Server] = []

    def serve(model_uri: str, **variables: str) -> str:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "SHIPYARD_"))}
        env.update({"SHIPYARD_CACHE_DIR": str(tmp_path / "serve-cache"), **variables})
        log = tmp_path / f"serve-{port}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [SHIPYARD, "serve", "-m", model_uri, "-h", "127.0.0.1", "-p", str(port)],
                stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path, env=env,
            )  # fmt: skip
        started.append(Server(f"http://127.0.0.1:{port}", tmp_path, "", process, log))
        wait_healthy(started[-1], f"shipyard serve -m {model_uri}", 90)
        return started[-1].url

    yield serve
    for server in started:
        stop_server(server)


@pytest.fixture(scope="session")
def mlflow_server_run(mlflow_tracking_server: Server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The same mlflow-client training script's run on the real `mlflow server`."""
    return train_with_mlflow(mlflow_tracking_server, tmp_path_factory.mktemp("mlflow-client-on-mlflow"))


def _clean_state() -> None:
    while fluent.active_run() is not None:
        fluent.end_run()
    fluent.set_tracking_uri(None)
    fluent.set_registry_uri(None)
    fluent_state.STATE.experiment_id = None


@pytest.fixture()
def mlflow_env_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No `MLFLOW_*` or `SHIPYARD_*` variable set (but the tests' own `SHIPYARD_TEST_*`), a fresh
    cwd, and fresh process settings."""
    for name in list(os.environ):
        if name.startswith(("MLFLOW_", "SHIPYARD_")) and not name.startswith("SHIPYARD_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    _clean_state()
    yield tmp_path
    _clean_state()


@pytest.fixture()
def reread(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """`reread(NAME=value, ...)`: set variables and make the process read its settings again
    (as a new process would)."""

    def set_and_reread(**variables: str) -> None:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        fluent.set_tracking_uri(None)

    return set_and_reread
