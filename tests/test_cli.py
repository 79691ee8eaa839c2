"""The `shipyard` group loads each command's module only when that command is asked for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from shipyard.cli import COMMANDS, cli


def test_every_command_of_the_table_loads_under_its_name() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0, result.output
    for name in COMMANDS:
        assert name in result.output
        command = cli.get_command(None, name)  # type: ignore[arg-type]
        assert command is not None and command.name == name


def test_without_a_package_the_cli_still_lists_and_names_what_is_missing() -> None:
    """As in a serving image: no SQLAlchemy, yet `--help` works and commands say what is missing."""
    code = (
        "import sys; sys.modules['sqlalchemy'] = None\n"
        "from click.testing import CliRunner\n"
        "from shipyard.cli import cli\n"
        "for args in (['--help'], ['server'], ['models', 'versions', 'iris']):\n"
        "    r = CliRunner().invoke(cli, args); print(r.exit_code, repr(r.output))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/"
    ).stdout.splitlines()
    assert out[0].startswith("0 ") and "(unavailable: needs the 'sqlalchemy' package" in out[0]
    for line in out[1:]:  # one fails on import, the other when it opens a store
        assert line.startswith("1 ") and "needs the 'sqlalchemy' package" in line, line
        assert "Traceback" not in line


def test_a_bad_flag_or_variable_is_a_usage_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both servers build their settings through one helper: exit 2, the field named, no traceback."""
    for args in (["serve", "-m", ".", "--port", "70000"], ["server", "--port", "70000"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2, result.output
        assert "port: Input should be less than or equal to 65535" in result.output
        assert "Traceback" not in result.output
    monkeypatch.setenv("SHIPYARD_MAX_QUEUE", "zero")
    result = CliRunner().invoke(cli, ["serve", "-m", "."])
    assert result.exit_code == 2 and "max_queue: Input should be a valid integer" in result.output


def test_a_bad_variable_is_a_usage_error_in_every_command_that_reads_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "soon")
    (tmp_path / "in.json").write_text('{"inputs": [[1.0]]}')
    commands = (
        ["models", "versions", "iris"],
        ["experiments", "search"],
        ["runs", "list", "--experiment-id", "0"],
        ["gc"],
        ["generate-dockerfile", "-m", "models:/iris/1", "-d", str(tmp_path / "ctx")],
        ["models", "predict", "-m", "models:/iris/1", "-i", "in.json"],
    )
    for args in commands:
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2, (args, result.output)
        assert "MLFLOW_HTTP_REQUEST_TIMEOUT): Input should be a valid number" in result.output, args
        assert "Traceback" not in result.output
