"""Real projects in a temporary folder, a real sqlite store, the real `shipyard` script, and a
real `shipyard server` (the tests/server one, loaded by path: test folders cannot import each
other's conftest)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from shipyard.tracking.client import TrackingClient
from shipyard.tracking.entities import Run

SHIPYARD = str(Path(sys.executable).parent / "shipyard")
TESTS = Path(__file__).resolve().parents[1]
PYTHON = ".".join(map(str, sys.version_info[:2]))

SEED_MLPROJECT = """\
name: seed
python_env: python_env.yaml
entry_points:
  main:
    parameters:
      alpha: {type: float, default: 0.1}
      epochs: int
      data: {type: path, default: data.csv}
    command: "python train.py --alpha {alpha} --epochs {epochs} --data {data}"
  validate:
    parameters:
      threshold: float
    command: "python validate.py {threshold}"
"""

SEED_TRAIN = """\
import argparse, sys
import shipyard
p = argparse.ArgumentParser()
p.add_argument("--alpha", type=float); p.add_argument("--epochs", type=int); p.add_argument("--data")
p.add_argument("--extra", default=None)
a = p.parse_args()
with shipyard.start_run() as run:
    shipyard.log_metric("loss", a.alpha * a.epochs)
    print("RUN", run.info.run_id, "PREFIX", sys.prefix, flush=True)
"""

SEED_VALIDATE = """\
import sys
import shipyard
with shipyard.start_run():
    shipyard.log_metric("threshold", float(sys.argv[1]))
sys.exit(0 if float(sys.argv[1]) < 1 else 3)
"""


def write_project(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text))
    return root


@pytest.fixture()
def store_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A sqlite store in tmp_path, named by SHIPYARD_TRACKING_URI; environments under tmp_path."""
    uri = f"sqlite:///{tmp_path / 'store' / 'shipyard.db'}"
    (tmp_path / "store").mkdir()
    for name in ("MLFLOW_TRACKING_URI", "SHIPYARD_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SHIPYARD_TRACKING_URI", uri)
    monkeypatch.setenv("SHIPYARD_ENV_ROOT", str(tmp_path / "envs"))
    return uri


@pytest.fixture()
def seed_project(tmp_path: Path) -> Path:
    """The seed's project: python_env, entry points main and validate, typed parameters."""
    return write_project(
        tmp_path / "seed",
        {
            "MLproject": SEED_MLPROJECT,
            "python_env.yaml": f'python: "{PYTHON}"\n',
            "train.py": SEED_TRAIN,
            "validate.py": SEED_VALIDATE,
            "data.csv": "x\n1\n",
        },
    )


def shipyard_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """The installed `shipyard` script, as a user runs it."""
    return subprocess.run(
        [SHIPYARD, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env or dict(os.environ)
    )


@pytest.fixture()
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    return shipyard_cli


def all_runs(uri: str) -> list[Run]:
    client = TrackingClient(uri)
    return [r for e in client.search_experiments() for r in client.search_runs([e.experiment_id])]


@pytest.fixture()
def runs_in() -> Callable[[str], list[Run]]:
    return all_runs


def _conftest(folder: str) -> ModuleType:
    """Another test folder's conftest, as a module (loaded once)."""
    name = f"shipyard_tests_{folder}_conftest"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, TESTS / folder / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real `shipyard server` on a free port (sqlite store), for this module's tests."""
    helpers = _conftest("server")
    started = helpers.start_server(tmp_path_factory.mktemp("projects-server"))
    yield started
    helpers.stop_server(started)


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[Any]:
    """The Docker engine with the local base image (the images tests' check: with CI=true a
    missing engine or image fails the test)."""
    client = _conftest("images")._engine_or_fail()
    yield client
    client.close()
