"""Environments built once per content hash under SHIPYARD_ENV_ROOT and reused: `uv` and
`virtualenv` (one tiny environment each: a python_env.yaml with no dependencies), `shipyard env
list|gc`, and the clear errors for a missing conda or a missing Python."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import shipyard
from shipyard.exceptions import InvalidInput, InvalidState
from shipyard.projects import EnvCache
from shipyard.projects.env_cache import MARKER
from shipyard.projects.environments import find_python
from shipyard.tracking.client import TrackingClient

PYTHON = ".".join(map(str, sys.version_info[:2]))

MLPROJECT = """\
name: isolated
python_env: python_env.yaml
entry_points:
  main:
    parameters:
      alpha: {type: float, default: 0.1}
    command: "python train.py {alpha}"
  validate:
    parameters:
      threshold: float
    command: "python -c 'import sys; sys.exit(0)' {threshold}"
"""

# Standard library only: the environment has no dependencies, so it cannot import shipyard;
# it logs through the REST API with the variables the launcher gave it.
TRAIN = """\
import json, os, sys, time, urllib.request
body = {"run_id": os.environ["MLFLOW_RUN_ID"], "key": "loss", "value": 1 - float(sys.argv[1]),
        "timestamp": int(time.time() * 1000), "step": 0}
request = urllib.request.Request(os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/runs/log-metric",
                                 data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
urllib.request.urlopen(request).read()
print("PREFIX", sys.prefix, "SAME", os.environ["SHIPYARD_RUN_ID"] == os.environ["MLFLOW_RUN_ID"])
"""


@pytest.fixture()
def isolated(tmp_path: Path) -> Path:
    root = tmp_path / "isolated"
    root.mkdir()
    (root / "MLproject").write_text(MLPROJECT)
    (root / "python_env.yaml").write_text(f'python: "{PYTHON}"\nbuild_dependencies: []\ndependencies: []\n')
    (root / "train.py").write_text(TRAIN)
    return root


def _env(tmp_path: Path, server: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "SHIPYARD_"))}
    return env | {"SHIPYARD_TRACKING_URI": server.url, "SHIPYARD_ENV_ROOT": str(tmp_path / "envs")}


@pytest.mark.parametrize("manager", ["uv", "virtualenv"])
def test_an_environment_is_built_once_and_reused(
    manager: str, isolated: Path, tmp_path: Path, server: Any, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _env(tmp_path, server)
    first = cli("run", str(isolated), "-P", "alpha=0.25", "--env-manager", manager, "--experiment-name", manager,
                cwd=tmp_path, env=env)  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert f"Creating {manager} environment" in first.stderr and "SAME True" in first.stdout
    (built,) = EnvCache(tmp_path / "envs").entries()
    assert built.complete and built.manager == manager and built.key.startswith(f"{manager}-")
    assert f"PREFIX {built.path}" in first.stdout  # the command ran inside the cached environment
    created = json.loads((built.path / MARKER).read_text())["created"]

    second = cli("run", str(isolated), "-P", "alpha=0.5", "--env-manager", manager, "--experiment-name", manager,
                 cwd=tmp_path, env=env)  # fmt: skip
    assert second.returncode == 0, second.stderr
    assert f"Reusing {manager} environment {built.key}" in second.stderr and "Creating" not in second.stderr
    monkeypatch.setenv("SHIPYARD_ENV_ROOT", str(tmp_path / "envs"))
    submitted = shipyard.projects.run(
        str(isolated), "validate", parameters={"threshold": 0.5}, env_manager=manager,
        experiment_name=manager, tracking_uri=server.url, progress=lambda line: None,
    )  # fmt: skip
    assert [e.key for e in EnvCache(tmp_path / "envs").entries()] == [built.key]
    assert json.loads((built.path / MARKER).read_text())["created"] == created  # not rebuilt

    client = TrackingClient(server.url)
    experiment = client.get_experiment_by_name(manager)
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])
    assert len(runs) == 3 and {r.info.status for r in runs} == {"FINISHED"}
    assert [r.data.metrics for r in runs] == [{"loss": 0.75}, {"loss": 0.5}, {}]
    assert [r.data.params for r in runs] == [{"alpha": "0.25"}, {"alpha": "0.5"}, {"threshold": "0.5"}]
    assert {r.data.tags["mlflow.project.env"] for r in runs} == {manager}
    assert runs[2].info.run_id == submitted.run_id


def test_env_list_and_gc(tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A half-built folder (no marker: a crash mid-build) is listed as such and removed; a complete
    one used recently stays until --all."""
    root = tmp_path / "envs"
    monkeypatch.setenv("SHIPYARD_ENV_ROOT", str(root))
    cache = EnvCache(root)
    path, reused = cache.obtain("virtualenv-abc", {"manager": "virtualenv", "python": PYTHON, "source": "x.yaml"},
                                lambda p: p.mkdir(), lambda line: None)  # fmt: skip
    assert (path, reused) == (root / "virtualenv-abc", False)
    assert cache.obtain("virtualenv-abc", {}, lambda p: pytest.fail("rebuilt"), lambda line: None)[1] is True
    (root / "uv-halfbuilt" / "bin").mkdir(parents=True)
    listed = cli("env", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line.split()[1] for line in listed.stdout.splitlines()[3:]}
    assert rows == {"uv-halfbuilt": "(half-built)", "virtualenv-abc": "virtualenv"}
    gc = cli("env", "gc", cwd=tmp_path)
    assert gc.returncode == 0 and f"Removed {root / 'uv-halfbuilt'}" in gc.stdout
    assert [e.key for e in cache.entries()] == ["virtualenv-abc"]
    assert cli("env", "gc", "--all", cwd=tmp_path).returncode == 0
    assert cache.entries() == []


def test_a_half_built_environment_is_rebuilt_not_reused(tmp_path: Path) -> None:
    cache = EnvCache(tmp_path / "envs")

    def crash(path: Path) -> None:
        path.mkdir()
        (path / "partial").write_text("x")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cache.obtain("k", {}, crash, lambda line: None)
    assert not (tmp_path / "envs" / "k").exists()
    (tmp_path / "envs" / "k").mkdir()  # as a killed process (SIGKILL, no cleanup) leaves it
    lines: list[str] = []
    path, reused = cache.obtain("k", {}, lambda p: p.mkdir(), lines.append)
    assert not reused and (path / MARKER).is_file() and any("Removing half-built" in line for line in lines)


def test_conda_without_conda_on_path_is_a_clear_error(
    tmp_path: Path, store_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "condaproj"
    project.mkdir()
    (project / "MLproject").write_text("conda_env: conda.yaml\nentry_points:\n  main: {command: 'true'}\n")
    (project / "conda.yaml").write_text("dependencies: [python=3.11]\n")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(InvalidState, match="env_manager 'conda' needs conda or mamba on PATH, and neither was found"):
        shipyard.projects.run(str(project))
    with pytest.raises(InvalidInput, match="needs a python_env; the project names only conda_env conda.yaml"):
        shipyard.projects.run(str(project), env_manager="uv")


def test_a_python_that_is_not_here_is_an_error_naming_it(tmp_path: Path, store_uri: str) -> None:
    project = tmp_path / "oldpython"
    project.mkdir()
    (project / "MLproject").write_text("python_env: python_env.yaml\nentry_points:\n  main: {command: 'true'}\n")
    (project / "python_env.yaml").write_text('python: "3.1"\n')
    with pytest.raises(InvalidInput) as caught:
        shipyard.projects.run(str(project), env_manager="virtualenv")
    message = str(caught.value)
    assert "python_env asks for Python 3.1, which is not on this machine; found: " in message
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in message and "--python-fallback" in message
    assert not (tmp_path / "envs").exists() or EnvCache(tmp_path / "envs").entries() == []


def test_two_runs_wanting_one_environment_at_once_build_it_once(tmp_path: Path) -> None:
    cache = EnvCache(tmp_path / "envs")
    builds: list[str] = []
    entered = threading.Event()

    def slow_build(path: Path) -> None:
        builds.append(threading.current_thread().name)
        entered.set()
        time.sleep(0.5)
        path.mkdir()

    results: list[tuple[Path, bool]] = []
    lines: list[str] = []
    first = threading.Thread(target=lambda: results.append(cache.obtain("k", {}, slow_build, lines.append)))
    first.start()
    assert entered.wait(10)
    second = threading.Thread(target=lambda: results.append(cache.obtain("k", {}, slow_build, lines.append)))
    second.start()
    first.join(10)
    second.join(10)
    assert len(builds) == 1 and sorted(reused for _, reused in results) == [False, True]
    assert any("Waiting for another process that is building environment k" in line for line in lines)


def test_python_fallback_takes_the_nearest_interpreter_and_says_so() -> None:
    lines: list[str] = []
    with pytest.raises(InvalidInput, match="python_env asks for Python 3.1, which is not on this machine"):
        find_python("3.1", False, lines.append)
    interpreter, version, fell_back = find_python("3.1", True, lines.append)
    assert fell_back == version and version.startswith("3.") and Path(interpreter).name.startswith("python3.")
    assert lines == [f"WARNING: Python 3.1 is not on this machine; using Python {version} ({interpreter}) instead"]
    assert find_python(PYTHON, False, lines.append) == (sys.executable, ".".join(map(str, sys.version_info[:3])), None)
