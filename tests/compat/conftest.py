"""The two tracking servers the registry script runs against: `shipyard server` (the project's own
start/stop helpers from tests/server/conftest.py) and the real `mlflow server`."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent

# NOTE: test modules and conftests cannot import one another by name (--import-mode=importlib);
# the server helpers are loaded from their file so that there is one way to start `shipyard server`.
_spec = importlib.util.spec_from_file_location("compat_server_helpers", HERE.parent / "server" / "conftest.py")
assert _spec is not None and _spec.loader is not None
server_helpers = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = server_helpers  # NOTE: dataclasses look their module up there
_spec.loader.exec_module(server_helpers)
Server = server_helpers.Server


@pytest.fixture()
def shipyard_servers(tmp_path: Path) -> Iterator[Callable[[], Server]]:
    """`make()`: a fresh `shipyard server` (its own store) on each call, all stopped at the end."""
    started: list[Server] = []

    def make() -> Server:
        started.append(server_helpers.start_server(tmp_path / f"shipyard-server-{len(started)}"))
        return started[-1]

    yield make
    for server in started:
        server_helpers.stop_server(server)


@pytest.fixture()
def mlflow_server(tmp_path: Path) -> Iterator[Server]:
    """`mlflow server` on a sqlite file, proxying artifacts to a folder (its own process group:
    it forks uvicorn workers)."""
    root = tmp_path / "mlflow-server"
    root.mkdir()
    port = server_helpers.free_port()
    db_uri = f"sqlite:///{root / 'mlflow.db'}"
    log = root / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                str(BIN / "mlflow"),
                "server",
                "--backend-store-uri",
                db_uri,
                "--artifacts-destination",
                str(root / "artifacts"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
            ],
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}"},
            start_new_session=True,
        )
    server = Server(f"http://127.0.0.1:{port}", root, db_uri, process, log)
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"mlflow server exited early:\n{server.output()}")
            # NOTE: a loaded machine can accept the connection and answer late: a timeout is "not yet".
            with contextlib.suppress(requests.ConnectionError, requests.Timeout):
                if requests.get(server.url + "/health", timeout=5).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server did not answer /health within 180 s:\n{server.output()}")
            time.sleep(0.3)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
