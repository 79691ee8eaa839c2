"""The two commands through click, with no engine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from shipyard.cli import cli


def test_generate_dockerfile_writes_a_buildable_context(tmp_path: Path, iris_dir: Callable[..., Path]) -> None:
    out = tmp_path / "ctx"
    result = CliRunner().invoke(
        cli,
        ["generate-dockerfile", "-m", str(iris_dir()), "-d", str(out), "--label", "team=fraud",
         "--build-arg", "PIP_INDEX_URL=https://pypi.internal/simple"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "--build-arg PIP_INDEX_URL=..." in result.output
    assert (out / "Dockerfile").is_file()
    assert (out / "model" / "MLmodel").is_file()
    assert list((out / "deps" / "wheels").glob("shipyard-*.whl"))
    assert '"team"="fraud"' in (out / "Dockerfile").read_text()


def test_no_engine_names_docker_host_and_the_way_out(tmp_path: Path, iris_dir: Callable[..., Path]) -> None:
    result = CliRunner().invoke(
        cli,
        ["build-docker", "-m", str(iris_dir()), "-n", "iris:1"],
        env={"DOCKER_HOST": f"unix://{tmp_path}/no-such.sock"},
    )
    assert result.exit_code != 0
    assert "DOCKER_HOST" in result.output
    assert "generate-dockerfile" in result.output
    assert "Traceback" not in result.output


def test_bad_flags_are_caller_errors(tmp_path: Path, iris_dir: Callable[..., Path]) -> None:
    model = str(iris_dir())
    runner = CliRunner()
    bad_label = runner.invoke(cli, ["generate-dockerfile", "-m", model, "-d", str(tmp_path / "a"),
                                    "--label", "no-equals"])  # fmt: skip
    assert bad_label.exit_code != 0 and "--label 'no-equals' is not KEY=VALUE" in bad_label.output
    bad_name = runner.invoke(cli, ["build-docker", "-m", model, "-n", "Bad Name"])
    assert bad_name.exit_code != 0 and "--name 'Bad Name'" in bad_name.output
    missing = runner.invoke(cli, ["generate-dockerfile", "-m", str(tmp_path / "nope"),
                                  "-d", str(tmp_path / "b")])  # fmt: skip
    assert missing.exit_code != 0 and "does not exist" in missing.output
