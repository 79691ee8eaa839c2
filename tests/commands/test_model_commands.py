"""`shipyard models serve|predict|build-docker`, `shipyard serve` with MLflow's flags, and
`shipyard ui`: the real CLI, real model directories, real server subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import Result

from shipyard.tracking.client import TrackingClient

Invoke = Callable[..., Result]


def body(rows: Any) -> dict[str, Any]:
    return {"dataframe_split": rows.to_dict(orient="split")}


def test_models_predict_answers_what_mlflow_models_predict_answers(
    invoke: Invoke, iris_model: dict[str, Any], tmp_path: Path
) -> None:
    request = tmp_path / "input.json"
    request.write_text(json.dumps(body(iris_model["rows"])))
    ours = tmp_path / "ours.json"
    result = invoke("models", "predict", "-m", str(iris_model["path"]), "-i", str(request), "-t", "json",
                    "-o", str(ours), "--env-manager", "local")  # fmt: skip
    assert result.exit_code == 0, result.output
    theirs = tmp_path / "theirs.json"
    mlflow = subprocess.run(
        [str(Path(sys.executable).parent / "mlflow"), "models", "predict", "-m", str(iris_model["path"]),
         "-i", str(request), "-t", "json", "-o", str(theirs), "--env-manager", "local"],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert mlflow.returncode == 0, mlflow.stderr[-2000:]
    assert json.loads(ours.read_text()) == json.loads(theirs.read_text())
    assert json.loads(ours.read_text()) == {"predictions": iris_model["expected"]}


def test_models_predict_reads_csv_and_writes_stdout(invoke: Invoke, iris_model: dict[str, Any], tmp_path: Path) -> None:
    request = tmp_path / "input.csv"
    iris_model["rows"].to_csv(request, index=False)
    result = invoke("models", "predict", "-m", str(iris_model["path"]), "-i", str(request), "-t", "csv")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"predictions": iris_model["expected"]}


def test_models_predict_mistakes_are_messages(invoke: Invoke, iris_model: dict[str, Any], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"rows": [[1, 2]]}))
    model = str(iris_model["path"])
    unknown_key = invoke("models", "predict", "-m", model, "-i", str(bad))
    assert unknown_key.exit_code == 1 and unknown_key.output.startswith("Error: BAD_REQUEST: unknown key(s) ['rows']")
    bad.write_text(json.dumps({"inputs": [[1.0, 2.0]]}))
    wrong_width = invoke("models", "predict", "-m", model, "-i", str(bad))
    assert wrong_width.exit_code == 1 and "Traceback" not in wrong_width.output and "Error: " in wrong_width.output
    unknown = invoke("models", "predict", "-m", model, "-i", str(bad), "--env-manager", "pip")
    assert unknown.exit_code == 2 and "Invalid value for '--env-manager'" in unknown.output
    no_model = invoke("models", "predict", "-m", str(tmp_path / "nothing"), "-i", str(bad))
    assert no_model.exit_code == 1 and "RESOURCE_DOES_NOT_EXIST: model directory" in no_model.output
    no_input = invoke("models", "predict", "-m", model, "-i", str(tmp_path / "absent.json"))
    assert no_input.exit_code == 2 and "does not exist" in no_input.output


@pytest.mark.parametrize("command", [["models", "serve"], ["serve"]])
def test_serve_takes_mlflows_flags(
    command: list[str], iris_model: dict[str, Any], tmp_path: Path, servers: Any
) -> None:
    port = servers.port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [servers.shipyard, *command, "-m", str(iris_model["path"]), "-h", "127.0.0.1", "-p", str(port),
             "-w", "1", "-t", "30", "--env-manager", "local", "--no-conda"],
            stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path,
        )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        servers.wait_ready(url + "/health", process, log)
        answer = httpx.post(url + "/invocations", json=body(iris_model["rows"]), timeout=30)
        assert answer.status_code == 200 and answer.json() == {"predictions": iris_model["expected"]}
    finally:
        servers.stop(process)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--env-manager", "pipenv"], "Invalid value for '--env-manager'"),
        (["--enable-mlserver"], "MLServer is not supported"),
        (["--install-mlflow"], "Shipyard installs itself (not MLflow) into a model's environment"),
        (["--no-conda", "--env-manager", "conda"], "--no-conda means local"),
    ],
)
def test_serve_refuses_what_it_cannot_honour(invoke: Invoke, flags: list[str], message: str) -> None:
    for command in (["models", "serve"], ["serve"]):
        result = invoke(*command, "-m", ".", *flags)
        assert result.exit_code == 2 and message in result.output, result.output
        assert "Traceback" not in result.output


def test_models_build_docker_is_build_docker_with_env_manager(invoke: Invoke, iris_model: dict[str, Any]) -> None:
    model = str(iris_model["path"])
    for command in (["models", "build-docker"], ["build-docker"]):
        conda = invoke(*command, "-m", model, "-n", "iris:1", "--env-manager", "conda")
        assert conda.exit_code == 2 and "a conda image is not built" in conda.output
        # Accepted, then the image command itself runs: its own check of the image name answers.
        named = invoke(*command, "-m", model, "-n", "Not A Name", "--env-manager", "virtualenv")
        assert named.exit_code == 1 and "--name" in named.output and "Traceback" not in named.output
    helps = invoke("models", "build-docker", "--help").output
    assert all(flag in helps for flag in ("-m, --model-uri", "-n, --name", "--env-manager", "--base-image"))


def test_the_serving_commands_start_without_sqlalchemy() -> None:
    """As in a serving image: `serve` and `models serve` load without the database packages."""
    code = (
        "import sys; sys.modules['sqlalchemy'] = None; sys.modules['docker'] = None\n"
        "from click.testing import CliRunner\n"
        "from shipyard.cli import cli\n"
        "for args in (['serve', '--help'], ['models', 'serve', '--help'], ['models', 'predict', '--help'],\n"
        "             ['gc']):\n"
        "    r = CliRunner().invoke(cli, args); print(r.exit_code, '--env-manager' in r.output, repr(r.output))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    lines = out.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["0", "0", "0", "1"], out.stdout
    assert [line.split()[1] for line in lines] == ["True", "True", "True", "False"]
    assert "`shipyard gc` needs the 'sqlalchemy' package" in lines[3]


def test_ui_is_the_tracking_server_on_this_machine_with_the_cwd_store(
    tmp_path: Path, servers: Any, invoke: Invoke
) -> None:
    port = servers.port()
    log = tmp_path / "ui.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([servers.shipyard, "ui", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT,
                                   cwd=tmp_path)  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        servers.wait_ready(url + "/health", process, log)
        created = invoke("experiments", "create", "-n", "through-ui", "--tracking-uri", url)
        assert created.exit_code == 0, created.output
        assert "bound to 127.0.0.1" in log.read_text()
    finally:
        servers.stop(process)
    local = f"sqlite:///{tmp_path / 'shipyard.db'}"
    assert "through-ui" in {e.name for e in TrackingClient(local).search_experiments()}
    helps = invoke("ui", "--help").output
    assert all(flag in helps for flag in ("--backend-store-uri", "--default-artifact-root", "-h, --host", "-p, --port"))
