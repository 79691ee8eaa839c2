"""`shipyard serve` and `shipyard models serve`: one command, `runtime/cli.py`'s, with MLflow's
extra flags (`-t` for `--timeout`, `--env-manager local`, `--no-conda`; the rest a clear error).

NOTE: the serving image runs this: nothing here may import SQLAlchemy or docker-py.
"""

from __future__ import annotations

from typing import Any

import click

from shipyard.commands.environments import check_serving_environment, serving_environment_options
from shipyard.runtime.cli import serve_command as runtime_serve


def _mlflow_params(params: list[click.Parameter]) -> list[click.Parameter]:
    """`--timeout` also answers to MLflow's `-t`."""
    out: list[click.Parameter] = []
    for param in params:
        if isinstance(param, click.Option) and param.name == "timeout":
            param = click.Option(["-t", "--timeout"], type=param.type, help=param.help)
        out.append(param)
    return out


@click.command("serve", help=runtime_serve.help)
@serving_environment_options
def serve_command(
    env_manager: str | None, no_conda: bool, install_mlflow: bool, enable_mlserver: bool, **flags: Any
) -> None:
    check_serving_environment(env_manager, no_conda, install_mlflow, enable_mlserver)
    assert runtime_serve.callback is not None
    runtime_serve.callback(**flags)


serve_command.params[:0] = _mlflow_params(runtime_serve.params)


__all__ = ["serve_command"]
