"""`shipyard serve` and `shipyard models serve`: one command, `runtime/cli.py`'s, with MLflow's
extra flags (`-t` for `--timeout`, `--env-manager`, `--no-conda`; the rest a clear error).
`--env-manager uv|virtualenv|conda` runs the same command in the model's own environment.

NOTE: the serving image runs this: nothing here may import SQLAlchemy or docker-py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from shipyard.commands.environments import check_serving_environment, serving_environment_options
from shipyard.commands.errors import reported_errors
from shipyard.runtime.cli import serve_command as runtime_serve


def _mlflow_params(params: list[click.Parameter]) -> list[click.Parameter]:
    """`--timeout` also answers to MLflow's `-t`."""
    out: list[click.Parameter] = []
    for param in params:
        if isinstance(param, click.Option) and param.name == "timeout":
            param = click.Option(["-t", "--timeout"], type=param.type, help=param.help)
        out.append(param)
    return out


def _serve_in_model_environment(ctx: click.Context, manager: str, flags: dict[str, Any]) -> None:
    """Resolve the model here, then `shipyard serve ... --env-manager local` in its environment."""
    # NOTE: imported here: the serving image's `serve` has neither images/ nor projects/ needs.
    from shipyard.commands.model_environment import local_arguments, model_environment, run_inside
    from shipyard.exceptions import InvalidInput
    from shipyard.runtime.model import resolve_model
    from shipyard.runtime.settings import ServeSettings
    from shipyard.settings import settings_from_flags

    with reported_errors():
        uris = flags["model_uri"]
        if len(uris) > 1 or flags.get("models_file") is not None or flags.get("shadows"):
            raise InvalidInput(
                f"--env-manager {manager} serves one model in its own environment: give one -m URI "
                "(several models, --models and --shadow need --env-manager local)"
            )
        single = {**flags, "model_uri": uris[0] if uris else None}
        single = {k: v for k, v in single.items() if k not in ("models_file", "shadows")}
        settings = settings_from_flags(ServeSettings, single)
        identity = resolve_model(settings.model_uri, name=settings.name, settings=settings.base)
        environment = model_environment(Path(identity.local_path), manager, settings.base)
    run_inside(environment, ["serve", *local_arguments(ctx, {"model_uri": identity.local_path, "name": identity.name})])


@click.command("serve", help=runtime_serve.help)
@serving_environment_options
@click.pass_context
def serve_command(
    ctx: click.Context,
    /,
    env_manager: str | None,
    no_conda: bool,
    install_mlflow: bool,
    enable_mlserver: bool,
    **flags: Any,
) -> None:
    check_serving_environment(env_manager, no_conda, install_mlflow, enable_mlserver)
    if env_manager is not None and env_manager.lower() != "local":
        _serve_in_model_environment(ctx, env_manager, flags)
    assert runtime_serve.callback is not None
    runtime_serve.callback(**flags)


serve_command.params[:0] = _mlflow_params(runtime_serve.params)


__all__ = ["serve_command"]
