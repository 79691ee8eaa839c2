"""`shipyard run` and `shipyard.projects.run` with `--env-manager local`: one run per call,
created first, with params, tags, the script's metrics and an end status; the command's
`start_run()` joins that run, with `import shipyard` and with `import mlflow`."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import shipyard
from shipyard.exceptions import InvalidInput
from shipyard.projects import ExecutionError, SubmittedRun
from shipyard.tracking.client import TrackingClient
from shipyard.tracking.entities import Run

RunsIn = Callable[[str], list[Run]]


def test_cli_runs_the_seed_project_in_one_run(
    seed_project: Path, store_uri: str, cli: Any, runs_in: RunsIn, tmp_path: Path
) -> None:
    out = cli("run", str(seed_project), "-P", "epochs=3", "-P", "alpha=0.5", "-P", "extra=hi", "--env-manager", "local",
              cwd=tmp_path)  # fmt: skip
    assert out.returncode == 0, out.stderr
    (run,) = runs_in(store_uri)
    assert f"RUN {run.info.run_id}" in out.stdout  # the script's start_run() joined the project's run
    assert f"Run {run.info.run_id}: see it with shipyard runs describe --run-id {run.info.run_id}" in out.stderr
    assert run.info.status == "FINISHED"
    assert run.data.params == {"alpha": "0.5", "epochs": "3", "data": str(seed_project / "data.csv"), "extra": "hi"}
    assert run.data.metrics == {"loss": 1.5}
    tags = run.data.tags
    assert tags["mlflow.source.type"] == "PROJECT"
    assert tags["mlflow.source.name"] == str(seed_project)
    assert (tags["mlflow.project.entryPoint"], tags["mlflow.project.env"]) == ("main", "local")
    assert tags["shipyard.project.command"].endswith(f"--data {seed_project / 'data.csv'} --extra hi")


def test_python_api_returns_a_submitted_run(seed_project: Path, store_uri: str, runs_in: RunsIn) -> None:
    submitted = shipyard.projects.run(
        str(seed_project), parameters={"epochs": 2}, env_manager="local", experiment_name="seeded", run_name="api"
    )
    assert isinstance(submitted, SubmittedRun) and shipyard.run is shipyard.projects.run
    assert submitted.get_status() == "FINISHED" and submitted.wait() is True
    (run,) = runs_in(store_uri)
    assert run.info.run_id == submitted.run_id and run.info.run_name == "api"
    assert TrackingClient(store_uri).get_experiment(run.info.experiment_id).name == "seeded"
    assert run.data.metrics == {"loss": pytest.approx(0.2)} and run.data.params["alpha"] == "0.1"


def test_a_failing_command_ends_its_run_failed_with_the_exit_status(
    seed_project: Path, store_uri: str, cli: Any, runs_in: RunsIn, tmp_path: Path
) -> None:
    out = cli("run", str(seed_project), "-e", "validate", "-P", "threshold=5", "--env-manager", "local", cwd=tmp_path)
    assert out.returncode == 3, out.stderr
    assert "failed with exit status 3: FAILED" in out.stderr
    with pytest.raises(ExecutionError) as caught:
        shipyard.projects.run(str(seed_project), "validate", parameters={"threshold": 7}, env_manager="local")
    assert caught.value.exit_status == 3
    runs = {r.info.run_id: r for r in runs_in(store_uri)}
    assert len(runs) == 2 and {r.info.status for r in runs.values()} == {"FAILED"}
    assert runs[caught.value.run_id].data.metrics == {"threshold": 7.0}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (["-P", "epochs=3", "-P", "alpha=fast"], "parameter 'alpha' got 'fast', which is not a float"),
        (["-P", "alpha=1"], "parameter 'epochs' (int) is missing and has no default"),
        (["-P", "epochs=1", "-P", "data=/no/such/file"], "parameter 'data' got '/no/such/file' (path), but no such"),
    ],
)
def test_bad_parameters_fail_before_anything_runs(
    seed_project: Path, store_uri: str, cli: Any, runs_in: RunsIn, tmp_path: Path, params: list[str], message: str
) -> None:
    out = cli("run", str(seed_project), *params, "--env-manager", "local", cwd=tmp_path)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1].startswith("Error: INVALID_PARAMETER_VALUE: ")
    assert message in out.stderr and "Traceback" not in out.stderr
    assert runs_in(store_uri) == []  # no run was created, so none is left RUNNING
    with pytest.raises(InvalidInput, match="parameter 'epochs'"):
        shipyard.projects.run(str(seed_project), parameters={"epochs": "x"}, env_manager="local")
    assert runs_in(store_uri) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--env-manager", "pip"], "Invalid value for '--env-manager'"),
        (["-P", "novalue"], "'novalue' is not NAME=VALUE"),
        (["-e", "nope"], "entry point 'nope' is neither one of the project's entry points (main, validate)"),
        (["-b", "databricks"], "backend 'databricks' is not supported"),
        (["--env-manager", "local", "-P", "epochs=1", "--build-image"], "apply only to a project with a docker_env"),
        (["--env-manager", "docker", "-P", "epochs=1"], "env_manager 'docker' needs a docker_env"),
    ],
)
def test_bad_flags_are_clear_errors(
    seed_project: Path, store_uri: str, cli: Any, runs_in: RunsIn, tmp_path: Path, args: list[str], message: str
) -> None:
    out = cli("run", str(seed_project), *args, cwd=tmp_path)
    assert out.returncode in (1, 2) and message in out.stderr and "Traceback" not in out.stderr
    assert runs_in(store_uri) == []


def test_unsupported_mlflow_arguments_are_refused(seed_project: Path, store_uri: str) -> None:
    with pytest.raises(InvalidInput, match="'storage_dir' is not supported"):
        shipyard.projects.run(str(seed_project), storage_dir="/tmp/x")


def _gone(pid: int) -> bool:
    """Exited (a zombie waiting for its reaper counts as exited)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_cancel_kills_the_whole_process_group_and_ends_the_run_killed(
    tmp_path: Path, store_uri: str, runs_in: RunsIn
) -> None:
    project = tmp_path / "slow"
    project.mkdir()
    (project / "MLproject").write_text(
        'entry_points:\n  main:\n    command: "sleep 300 & echo $! > child.pid; echo $$ > shell.pid; wait"\n'
    )
    submitted = shipyard.projects.run(str(project), env_manager="local", synchronous=False)
    deadline = time.monotonic() + 30
    while not ((project / "child.pid").is_file() and (project / "shell.pid").is_file()):
        assert time.monotonic() < deadline, "the command did not start"
        time.sleep(0.05)
    pids = [int((project / name).read_text()) for name in ("child.pid", "shell.pid")]
    assert submitted.get_status() == "RUNNING"
    (running,) = runs_in(store_uri)
    assert running.info.status == "RUNNING"
    submitted.cancel()
    assert submitted.get_status() == "KILLED"
    assert [_gone(pid) for pid in pids] == [True, True]
    (run,) = runs_in(store_uri)
    assert run.info.status == "KILLED" and run.info.end_time is not None


def test_start_run_with_import_mlflow_joins_the_run_on_a_shipyard_server(
    tmp_path: Path, server: Any, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "mlflow-project"
    project.mkdir()
    (project / "MLproject").write_text(
        "entry_points:\n  main:\n    parameters: {lr: float}\n    command: python train.py {lr}\n"
    )
    (project / "train.py").write_text(
        "import sys, mlflow\n"
        "with mlflow.start_run() as run:\n"
        "    mlflow.log_metric('acc', float(sys.argv[1]) * 2)\n"
        "    print('MLFLOW RUN', run.info.run_id)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "SHIPYARD_"))}
    env |= {"SHIPYARD_TRACKING_URI": server.url, "SHIPYARD_ENV_ROOT": str(tmp_path / "envs"),
            "PYTHONWARNINGS": "ignore"}  # fmt: skip
    out = cli("run", str(project), "-P", "lr=0.25", "--experiment-name", "from-mlflow", cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    client = TrackingClient(server.url)
    experiment = client.get_experiment_by_name("from-mlflow")
    assert experiment is not None
    (run,) = client.search_runs([experiment.experiment_id])
    assert f"MLFLOW RUN {run.info.run_id}" in out.stdout
    assert f"{server.url}/#/experiments/{experiment.experiment_id}/runs/{run.info.run_id}" in out.stderr
    assert run.info.status == "FINISHED"
    assert (run.data.metrics, run.data.params) == ({"acc": 0.5}, {"lr": "0.25"})
    assert run.data.tags["mlflow.project.env"] == "local"  # no env file: the current environment


def test_the_pipeline_example_chains_steps_through_the_client(store_uri: str, runs_in: RunsIn) -> None:
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "examples" / "pipeline.py"
    spec = importlib.util.spec_from_file_location("pipeline_example", path)
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    result = example.main()  # the store SHIPYARD_TRACKING_URI names (set_tracking_uri would outlive the test)
    runs = {r.info.run_id: r for r in runs_in(store_uri)}
    assert len(runs) == 3 and {r.info.status for r in runs.values()} == {"FINISHED"}
    trained = [r for r in runs.values() if r.data.tags["mlflow.project.entryPoint"] == "main"]
    best = min(trained, key=lambda r: r.data.metrics["final_loss"])
    assert result["best"] == best.info.run_id and best.data.params == {"alpha": "0.5", "epochs": "10"}
    check = runs[result["validate_run"]]
    assert result["validation"] == "passed" and check.data.tags["validation"] == "passed"
    assert check.data.params == {"train_run_id": best.info.run_id, "max_loss": "0.05"}
    assert check.data.metrics["validated_loss"] == best.data.metrics["final_loss"]


def test_run_id_resumes_a_run_and_a_script_runs_without_mlproject(
    tmp_path: Path, store_uri: str, runs_in: RunsIn, cli: Any
) -> None:
    folder = tmp_path / "scripts"
    folder.mkdir()
    (folder / "train.py").write_text(
        "import sys, shipyard\nwith shipyard.start_run():\n    shipyard.log_metric('argc', len(sys.argv))\n"
    )
    client = TrackingClient(store_uri)
    existing = client.create_run("0", run_name="made-before").info.run_id
    client.update_run(existing, "FAILED")
    submitted = shipyard.projects.run(folder, "train.py", parameters={"lr": 0.1}, run_id=existing, env_manager="local")
    assert submitted.run_id == existing
    (run,) = runs_in(store_uri)
    assert (run.info.run_id, run.info.status, run.info.run_name) == (existing, "FINISHED", "made-before")
    assert run.data.params == {"lr": "0.1"} and run.data.metrics == {"argc": 3.0}
    assert run.data.tags["mlflow.project.entryPoint"] == "train.py"
    assert run.data.tags["shipyard.project.command"] == "python train.py --lr 0.1"


def test_sigterm_to_shipyard_run_cancels_the_run(tmp_path: Path, store_uri: str, runs_in: RunsIn) -> None:
    """The command runs in its own session, so `shipyard run` must pass a SIGTERM on: the run
    ends KILLED, no process of the command survives, and the exit status is 130."""
    import signal
    import subprocess
    import sys

    project = tmp_path / "slow"
    project.mkdir()
    (project / "MLproject").write_text('entry_points:\n  main:\n    command: "echo $$ > shell.pid; sleep 300"\n')
    shipyard_bin = str(Path(sys.executable).parent / "shipyard")
    process = subprocess.Popen([shipyard_bin, "run", str(project), "--env-manager", "local"], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 60
    while not (project / "shell.pid").is_file() or not (project / "shell.pid").read_text().strip():
        assert time.monotonic() < deadline and process.poll() is None, "the command did not start"
        time.sleep(0.05)
    shell = int((project / "shell.pid").read_text())
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "KILLED ===" in err, err
    assert _gone(shell)
    (run,) = runs_in(store_uri)
    assert run.info.status == "KILLED"
