"""`docker_env` projects in a real Docker engine: the command runs in a container of the named
image (never pulled), with the MLproject's volumes and environment and the run's variables; the
exit status becomes the run's status; `--build-image` copies the project into a new image."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

import shipyard
from shipyard.exceptions import InvalidInput
from shipyard.images.spec import DEFAULT_BASE_IMAGE
from shipyard.projects import ExecutionError
from shipyard.tracking.client import TrackingClient

IMAGE = DEFAULT_BASE_IMAGE  # the image CI makes locally (.ci/docker-setup.sh); never pulled

# Standard library only (the image has no shipyard): log through the REST API it was told about.
TRAIN = """\
import json, os, sys, time, urllib.request
body = {"run_id": os.environ["MLFLOW_RUN_ID"], "key": "alpha", "value": float(sys.argv[1]),
        "timestamp": int(time.time() * 1000), "step": 0}
request = urllib.request.Request(os.environ["SHIPYARD_TRACKING_URI"] + "/api/2.0/mlflow/runs/log-metric",
                                 data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
urllib.request.urlopen(request).read()
open("/out/seen.txt", "w").write(os.environ["GREETING"] + " " + os.environ["FROM_HOST"] + " " + os.getcwd())
sys.exit(int(sys.argv[2]))
"""


def project(root: Path, out: Path, image: str = IMAGE) -> Path:
    root.mkdir(parents=True)
    out.mkdir(parents=True, exist_ok=True)
    (root / "MLproject").write_text(
        f"name: In Docker\n"
        f"docker_env:\n  image: {image}\n  volumes: ['{out}:/out']\n  environment: [[GREETING, hello], FROM_HOST]\n"
        "entry_points:\n  main:\n    parameters: {alpha: float, code: {type: int, default: 0}}\n"
        "    command: python train.py {alpha} {code}\n"
    )
    (root / "train.py").write_text(TRAIN)
    return root


@pytest.fixture()
def docker_env(monkeypatch: pytest.MonkeyPatch, server: Any, tmp_path: Path) -> str:
    for name in ("MLFLOW_TRACKING_URI", "SHIPYARD_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SHIPYARD_TRACKING_URI", server.url)
    monkeypatch.setenv("SHIPYARD_ENV_ROOT", str(tmp_path / "envs"))
    monkeypatch.setenv("FROM_HOST", "copied")
    return str(server.url)


def test_a_docker_env_project_runs_in_a_container_of_its_image(
    docker_engine: Any, docker_env: str, tmp_path: Path, cli: Any
) -> None:
    root = project(tmp_path / "proj", tmp_path / "out")
    env = dict(os.environ) | {"SHIPYARD_TRACKING_URI": docker_env, "FROM_HOST": "copied"}
    out = cli("run", str(root), "-P", "alpha=0.5", "--experiment-name", "docker", cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "out" / "seen.txt").read_text() == "hello copied /mlflow/projects/code"
    failed = cli("run", str(root), "-P", "alpha=0.25", "-P", "code=4", "--experiment-name", "docker", cwd=tmp_path,
                 env=env)  # fmt: skip
    assert failed.returncode == 4 and "FAILED" in failed.stderr
    client = TrackingClient(docker_env)
    experiment = client.get_experiment_by_name("docker")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])
    assert [(r.info.status, r.data.metrics, r.data.params) for r in runs] == [
        ("FINISHED", {"alpha": 0.5}, {"alpha": "0.5", "code": "0"}),
        ("FAILED", {"alpha": 0.25}, {"alpha": "0.25", "code": "4"}),
    ]
    assert {r.data.tags["mlflow.project.env"] for r in runs} == {"docker"}
    leftovers = docker_engine.containers.list(all=True, filters={"ancestor": IMAGE})
    assert [c for c in leftovers if c.attrs["Config"]["WorkingDir"] == "/mlflow/projects/code"] == []


def test_build_image_copies_the_project_into_a_new_image(docker_engine: Any, docker_env: str, tmp_path: Path) -> None:
    root = project(tmp_path / "proj", tmp_path / "out")
    submitted = shipyard.projects.run(str(root), parameters={"alpha": 2}, build_image=True, progress=lambda _: None)
    assert submitted.get_status() == "FINISHED"
    image = docker_engine.images.get("shipyard-project-in-docker:latest")
    assert image.attrs["Config"]["WorkingDir"] == "/mlflow/projects/code"
    assert TrackingClient(docker_env).get_run(submitted.run_id).data.metrics == {"alpha": 2.0}


def test_cancel_stops_the_container_and_ends_the_run_killed(
    docker_engine: Any, docker_env: str, tmp_path: Path
) -> None:
    root = tmp_path / "sleepy"
    root.mkdir()
    (root / "MLproject").write_text(f"docker_env: {{image: {IMAGE}}}\nentry_points:\n  main: {{command: sleep 300}}\n")
    submitted = shipyard.projects.run(str(root), synchronous=False, progress=lambda _: None)
    deadline = time.monotonic() + 30
    while submitted.get_status() != "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert submitted.get_status() == "RUNNING"
    started = time.monotonic()
    submitted.cancel()
    assert time.monotonic() - started < 20
    assert submitted.get_status() == "KILLED"
    assert TrackingClient(docker_env).get_run(submitted.run_id).info.status == "KILLED"
    sleeping = [
        c for c in docker_engine.containers.list(all=True) if c.attrs["Config"]["Cmd"] == ["sh", "-c", "sleep 300"]
    ]
    assert sleeping == []


def test_a_missing_image_is_an_error_and_never_pulled(docker_engine: Any, docker_env: str, tmp_path: Path) -> None:
    root = project(tmp_path / "proj", tmp_path / "out", image="shipyard-no-such-image:1")
    with pytest.raises(InvalidInput, match="'shipyard-no-such-image:1' is not present in the Docker engine"):
        shipyard.projects.run(str(root), parameters={"alpha": 1}, experiment_name="no-image", progress=lambda _: None)
    client = TrackingClient(docker_env)
    experiment = client.get_experiment_by_name("no-image")
    assert experiment is not None
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FAILED"  # the run existed; nothing is left RUNNING
    with pytest.raises(ExecutionError):
        shipyard.projects.run(str(project(tmp_path / "p2", tmp_path / "out")), parameters={"alpha": 1, "code": 2},
                              progress=lambda _: None)  # fmt: skip


def test_the_container_output_is_kept_as_project_log(
    docker_engine: Any, docker_env: str, tmp_path: Path, cli: Any
) -> None:
    """Docker's log of the container (stdout and stderr) is streamed to stdout and kept; with
    --no-capture it is only streamed."""
    root = tmp_path / "talky"
    root.mkdir()
    command = "echo to-stdout; sleep 0.2; echo to-stderr >&2; exit 2"
    mlproject = f"docker_env: {{image: {IMAGE}}}\nentry_points:\n  main: {{command: {command!r}}}\n"
    (root / "MLproject").write_text(mlproject)
    env = dict(os.environ) | {"SHIPYARD_TRACKING_URI": docker_env}
    kept = cli("run", str(root), "--experiment-name", "docker-log", cwd=tmp_path, env=env)
    shown = cli("run", str(root), "--experiment-name", "docker-log", "--no-capture", cwd=tmp_path, env=env)
    assert (kept.returncode, shown.returncode) == (2, 2), kept.stderr + shown.stderr
    for out in (kept, shown):
        assert out.stdout.splitlines() == ["to-stdout", "to-stderr"]
    client = TrackingClient(docker_env)
    experiment = client.get_experiment_by_name("docker-log")
    assert experiment is not None
    first, second = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])
    assert (first.info.status, second.info.status) == ("FAILED", "FAILED")
    assert [f.path for f in client.list_artifacts(second.info.run_id)] == []
    log = Path(client.download_artifacts(first.info.run_id, "project.log", tmp_path))
    assert log.read_text().splitlines() == ["to-stdout", "to-stderr"]
