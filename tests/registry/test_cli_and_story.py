"""The registry story users know, through the public API and `shipyard models ...`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import shipyard
from shipyard.cli import cli


def _train_and_log(n: int) -> list[str]:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    x, y = load_iris(return_X_y=True, as_frame=True)
    uris = []
    for c in (0.05, 1.0, 20.0)[:n]:
        with shipyard.start_run():
            model = LogisticRegression(C=c, max_iter=300).fit(x, y)
            info = shipyard.sklearn.log_model(
                model, name="model", input_example=x.head(2), registered_model_name="iris"
            )
            uris.append(info.model_uri)
            assert info.registered_model_version == len(uris)
    return uris


def described_v1_digest(runner: CliRunner) -> str:
    code, out = _invoke(runner, "describe", "models:/iris/1", "--json")
    return str(json.loads(out)["digest"])


def _invoke(runner: CliRunner, *args: str) -> tuple[int, str]:
    result = runner.invoke(cli, ["models", *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_cli_pipeline_commands(workspace: str, tmp_path: Path) -> None:
    run_uris = _train_and_log(2)
    runner = CliRunner()
    code, out = _invoke(runner, "register", run_uris[1], "iris", "--tag", "team=risk", "--json")
    assert code == 0, out
    registered = json.loads(out)
    assert (registered["version"], registered["status"], registered["tags"]) == (3, "READY", {"team": "risk"})

    code, out = _invoke(runner, "versions", "iris", "--json")
    assert [v["version"] for v in json.loads(out)] == [3, 2, 1]

    assert _invoke(runner, "transition", "iris", "1", "production")[0] == 0
    code, out = _invoke(runner, "transition", "iris", "2", "Production", "--archive-existing", "--json")
    assert json.loads(out)["current_stage"] == "Production"
    code, out = _invoke(runner, "alias", "iris", "champion", "2")
    assert code == 0 and "@champion" in out

    code, out = _invoke(runner, "describe", "models:/iris@champion", "--json")
    described = json.loads(out)
    assert (described["name"], described["version"], described["stage"], described["aliases"]) == (
        "iris",
        2,
        "Production",
        ["champion"],
    )
    assert described["digest"].startswith("sha256:") and described["signature"]["inputs"]
    code, out = _invoke(runner, "describe", run_uris[0], "--json")
    assert json.loads(out)["digest"] == described_v1_digest(runner)
    code, out = _invoke(runner, "describe", "models:/iris/production")
    assert code == 0 and "digest: sha256:" in out and "signature:" in out

    code, out = _invoke(runner, "rollback", "iris", "Production", "--json", "--user", "release-bot")
    assert json.loads(out)["version"] == 1
    code, out = _invoke(runner, "history", "iris")
    lines = out.strip().splitlines()
    assert "transition" in lines[0] and "version 1: None -> Production" in lines[0]
    assert "rollback" in lines[-1] and "version 1: Archived -> Production" in lines[-1]
    code, out = _invoke(runner, "history", "iris", "--json")
    entries = json.loads(out)
    assert [e["action"] for e in entries] == [
        "transition",
        "transition",
        "transition",
        "set_alias",
        "rollback",
        "rollback",
    ]
    assert all(e["user_id"] for e in entries) and entries[-1]["user_id"] == "release-bot"

    # the same store through --tracking-uri from another directory
    code, out = _invoke(runner, "versions", "iris", "--tracking-uri", workspace, "--json")
    assert code == 0 and len(json.loads(out)) == 3


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("versions", "nope"), "Registered Model with name=nope not found"),
        (("describe", "models:/nope/1"), "Registered Model with name=nope not found"),
        (("transition", "iris", "1", "Prod"), "allowed: None, Staging, Production, Archived"),
        (("transition", "iris", "9", "Staging"), "versions: 1"),
        (("alias", "iris", "latest", "1"), "reserved"),
        (("rollback", "iris", "Production"), "no earlier version"),
        (("describe", "models:/iris"), "malformed"),
        (("register", "/does/not/exist", "iris"), "does not exist"),
        (("register", "x", "iris", "--tag", "novalue"), "KEY=VALUE"),
    ],
)
def test_cli_errors_are_one_clear_line_and_exit_nonzero(
    workspace: str, model_dir: Callable[..., Path], args: tuple[str, ...], needle: str
) -> None:
    shipyard.Client().register_model(str(model_dir()), "iris")
    result = CliRunner().invoke(cli, ["models", *args])
    assert result.exit_code != 0
    assert needle in result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)


def test_readme_registry_section_runs_as_written(workspace: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The README's registry story: the Python block, then each runnable shell line, in order."""
    import re
    import shlex

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("\n## Registry\n", 1)[1].split("\n## ", 1)[0]
    python_block = re.search(r"```python\n(.*?)```", section, re.S)
    shell_block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert python_block and shell_block
    exec(compile(python_block.group(1), "README.md#registry", "exec"), {"__name__": "readme"})
    assert "models:/iris@champion" in capsys.readouterr().out
    runner = CliRunner()
    for line in shell_block.group(1).splitlines():
        if "<" in line:  # a placeholder the reader fills in
            continue
        args = shlex.split(line, comments=True)
        assert args[:2] == ["shipyard", "models"], line
        result = runner.invoke(cli, args[1:])
        assert result.exit_code == 0, (line, result.output)
    client = shipyard.Client()
    x = np.random.default_rng(0).normal(5, 1, size=(6, 4))
    frame = pd.DataFrame(x, columns=["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"])
    by_run = shipyard.pyfunc.load_model(str(client.get_model_version("iris", 3).source)).predict(frame)
    assert list(shipyard.pyfunc.load_model("models:/iris@champion").predict(frame)) == list(by_run)
    assert client.get_model_version("iris-candidate", 1).digest == client.get_model_version("iris", 3).digest
    assert [v.version for v in client.get_latest_versions("iris", ["Production"])] == [3]
    assert client.get_model_version_by_alias("iris", "champion").version == 3
    assert client.get_model_version("iris", 1).current_stage == "Archived"
