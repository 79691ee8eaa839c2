"""`--env-manager uv` on `models serve`, `serve` and `models predict`: the model's own environment,
built once from its env files through the projects' cache, answers as local serving does.

One environment is built for the whole module (a session-scoped env root; the key is the env
files' content, so every test finds it); the error cases build none that lasts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

SHIPYARD = str(Path(sys.executable).parent / "shipyard")

LOG_MODEL = """
import json, sys
import shipyard, shipyard.sklearn
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
x, y = load_iris(return_X_y=True, as_frame=True)
model = LogisticRegression(max_iter=500).fit(x, y)
with shipyard.start_run():
    shipyard.sklearn.log_model(model, "model", registered_model_name="iris-env", input_example=x.iloc[:2])
shipyard.sklearn.save_model(model, sys.argv[2], input_example=x.iloc[:2])  # the same files, as a folder
rows = x.iloc[[0, 60, 120]]
json.dump({"dataframe_split": rows.to_dict(orient="split")}, open(sys.argv[1], "w"))
"""


@pytest.fixture(scope="session")
def env_world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A registered sklearn model logged by Shipyard (in a subprocess: no fluent state leaks),
    its request body, and the variables every command here runs with (one env root)."""
    root = tmp_path_factory.mktemp("model-env")
    env = {
        **os.environ,
        "SHIPYARD_TRACKING_URI": f"sqlite:///{root / 'store.db'}",
        "SHIPYARD_ENV_ROOT": str(root / "envs"),
    }
    for name in ("MLFLOW_TRACKING_URI", "SHIPYARD_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_ID", "SHIPYARD_MODEL_URI"):
        env.pop(name, None)
    request = root / "input.json"
    saved = root / "saved"
    subprocess.run([sys.executable, "-c", LOG_MODEL, str(request), str(saved)], env=env, cwd=root, check=True)
    return {"env": env, "uri": "models:/iris-env/1", "request": request, "root": root, "saved": saved}


def shipyard(world: dict[str, Any], *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SHIPYARD, *args], env={**world["env"], **extra_env}, cwd=world["root"], capture_output=True, text=True,
        timeout=900,
    )  # fmt: skip


def env_path(stderr: str) -> Path:
    """The environment the command ran in, from its `Running in uv environment PATH:` line."""
    line = next(line for line in stderr.splitlines() if line.startswith("Running in uv environment "))
    return Path(line.removeprefix("Running in uv environment ").split(":", 1)[0])


def test_models_predict_in_a_uv_environment_answers_as_locally_and_reuses_it(env_world: dict[str, Any]) -> None:
    args = ["models", "predict", "-m", env_world["uri"], "-i", str(env_world["request"])]
    local = shipyard(env_world, *args)
    assert local.returncode == 0, local.stderr
    first = shipyard(env_world, *args, "--env-manager", "uv")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == json.loads(local.stdout)
    assert json.loads(local.stdout)["predictions"] == [0, 1, 2]
    second = shipyard(env_world, *args, "--env-manager", "uv")
    assert second.returncode == 0 and json.loads(second.stdout) == json.loads(local.stdout), second.stderr
    assert "Reusing uv environment" in second.stderr and "Creating uv environment" not in second.stderr
    assert env_path(first.stderr) == env_path(second.stderr)
    built = [p for p in (env_world["root"] / "envs").iterdir() if (p / "shipyard-env.json").is_file()]
    assert built == [env_path(first.stderr)]  # one environment for the model, whichever test built it
    # The environment holds the model's pinned scikit-learn and a Shipyard of its own, not this venv's.
    python = env_path(first.stderr) / "bin" / "python"
    pinned = subprocess.run(
        [str(python), "-c", "import sklearn, shipyard; print(sklearn.__version__, shipyard.__file__)"],
        capture_output=True, text=True, check=True, cwd="/",
    ).stdout.split()  # fmt: skip
    requirements = env_world["saved"] / "requirements.txt"
    assert f"scikit-learn=={pinned[0]}" in requirements.read_text().splitlines()
    assert Path(pinned[1]).is_relative_to(env_path(first.stderr))
    # The environment's own exit status and message come back: a bad input is exit 1, no traceback.
    bad = env_world["root"] / "bad.json"
    bad.write_text(json.dumps({"inputs": [[1.0, 2.0]]}))
    wrong = shipyard(env_world, "models", "predict", "-m", env_world["uri"], "-i", str(bad), "--env-manager", "uv")
    assert wrong.returncode == 1 and "Error: " in wrong.stderr and "Traceback" not in wrong.stderr


def serve(world: dict[str, Any], servers: Any, command: list[str], *flags: str) -> tuple[Any, str]:
    """(the predictions `/invocations` answers, the server's log) for one `serve` subprocess."""
    port = servers.port()
    log = world["root"] / f"serve-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [SHIPYARD, *command, "-m", world["uri"], "-h", "127.0.0.1", "-p", str(port), "-w", "1", *flags],
            env=world["env"], cwd=world["root"], stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        servers.wait_ready(url + "/health", process, log, timeout=900)
        answer = httpx.post(url + "/invocations", content=world["request"].read_bytes(),
                            headers={"Content-Type": "application/json"}, timeout=60)  # fmt: skip
        assert answer.status_code == 200, answer.text
    finally:
        servers.stop(process)
    assert process.returncode == 0, log.read_text()[-3000:]  # SIGTERM reached the server, which drained
    return answer.json(), log.read_text()


def test_models_serve_in_a_uv_environment_answers_as_local_serving(env_world: dict[str, Any], servers: Any) -> None:
    local, _ = serve(env_world, servers, ["serve"])
    built, first_log = serve(env_world, servers, ["models", "serve"], "--env-manager", "uv")
    assert built == local and built["predictions"] == [0, 1, 2]
    assert "Running in uv environment" in first_log
    again, second_log = serve(env_world, servers, ["serve"], "--env-manager", "uv")
    assert again == local
    assert "Reusing uv environment" in second_log and "Creating uv environment" not in second_log


def model_copy(world: dict[str, Any], name: str) -> Path:
    """The model's files in a folder of their own, to break."""
    target = world["root"] / name
    shutil.copytree(world["saved"], target)
    return target


@pytest.mark.parametrize("manager", ["uv", "virtualenv"])
def test_a_model_without_env_files_is_a_clear_error(env_world: dict[str, Any], manager: str) -> None:
    model = model_copy(env_world, f"bare-{manager}")
    (model / "python_env.yaml").unlink()
    for command in (["models", "predict", "-i", str(env_world["request"])], ["serve"], ["models", "serve"]):
        out = shipyard(env_world, *command, "-m", str(model), "--env-manager", manager)
        assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
        assert f"has no python_env.yaml, which --env-manager {manager} builds the environment from" in out.stderr


def test_a_requirement_that_fails_to_install_is_a_clear_error(env_world: dict[str, Any]) -> None:
    model = model_copy(env_world, "unbuildable")
    missing = env_world["root"] / "missing" / "nowhere-1.0-py3-none-any.whl"
    with open(model / "requirements.txt", "a") as reqs:
        reqs.write(f"nowhere @ {missing.as_uri()}\n")
    out = shipyard(env_world, "models", "predict", "-m", str(model), "-i", str(env_world["request"]),
                   "--env-manager", "uv")  # fmt: skip
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    assert "Error: INVALID_STATE: uv pip install failed" in out.stderr and "nowhere" in out.stderr
    folders = [p for p in (env_world["root"] / "envs").iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert all((p / "shipyard-env.json").is_file() for p in folders)  # the failed build left no half-built folder


def test_conda_not_on_path_is_a_clear_error(env_world: dict[str, Any]) -> None:
    bin_only = str(Path(sys.executable).parent)  # this venv's bin: no conda or mamba in it
    assert shutil.which("conda", path=bin_only) is None and shutil.which("mamba", path=bin_only) is None
    for command in (["models", "predict", "-i", str(env_world["request"])], ["models", "serve"]):
        out = shipyard(env_world, *command, "-m", env_world["uri"], "--env-manager", "conda", PATH=bin_only)
        assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
        assert "env_manager 'conda' needs conda or mamba on PATH, and neither was found" in out.stderr
