"""The real `shipyard` CLI (click's runner on `shipyard.cli:cli`, or the installed script) over a
real sqlite store in a temp folder, and a real model directory."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from shipyard.cli import cli
from shipyard.tracking.client import TrackingClient

SHIPYARD = str(Path(sys.executable).parent / "shipyard")
Invoke = Callable[..., Result]


@pytest.fixture()
def store_uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store' / 'shipyard.db'}"


@pytest.fixture()
def invoke(monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """Run `shipyard ARGS` in-process; no tracking variable leaks in from the machine."""
    for name in ("SHIPYARD_TRACKING_URI", "MLFLOW_TRACKING_URI", "SHIPYARD_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_ID"):
        monkeypatch.delenv(name, raising=False)

    def run(*args: str, env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    return run


@pytest.fixture()
def logged_run() -> Callable[..., tuple[str, str]]:
    return make_logged_run


def make_logged_run(uri: str, tmp: Path, experiment: str = "demo") -> tuple[str, str]:
    """(experiment id, run id) of a run with a param, a metric history and two artifacts."""
    client = TrackingClient(uri)
    experiment_id = client.create_experiment(experiment)
    run = client.create_run(experiment_id, run_name="first")
    run_id = run.info.run_id
    client.log_param(run_id, "alpha", 0.5)
    for step in range(3):
        client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
    (tmp / "notes.txt").write_text("hello")
    client.log_artifact(run_id, tmp / "notes.txt")
    client.log_artifact(run_id, tmp / "notes.txt", "sub")
    client.set_terminated(run_id)
    return experiment_id, run_id


@pytest.fixture(scope="session")
def servers() -> Any:
    """Starting and stopping real subprocess servers (test modules cannot import conftest)."""

    class Servers:
        port = staticmethod(free_port)
        wait_ready = staticmethod(wait_ready)
        stop = staticmethod(stop)
        shipyard = SHIPYARD

    return Servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} not ready within {timeout}s:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def iris_model(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """An sklearn model saved by MLflow (so MLflow's own CLI is the reference) with a signature."""
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    x, y = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=500).fit(x, y)
    path = tmp_path_factory.mktemp("models") / "iris"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mlflow's own deprecation and pip-inference warnings
        mlflow.sklearn.save_model(model, str(path), signature=infer_signature(x, model.predict(x)))
    rows = x.iloc[[0, 60, 120]]
    return {"path": path, "rows": rows, "expected": model.predict(rows).tolist()}
