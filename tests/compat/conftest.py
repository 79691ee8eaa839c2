"""The two tracking servers the registry script runs against: `shipyard server` (the project's own
start/stop helpers from tests/server/conftest.py) and the real `mlflow server`."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

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
    """A fresh real `mlflow server` (its own store) for one test."""
    server = server_helpers.start_mlflow_server(tmp_path / "mlflow-server")
    yield server
    server_helpers.stop_mlflow_server(server)
