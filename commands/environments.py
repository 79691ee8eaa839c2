"""MLflow's `--env-manager` family of flags, for the commands that take them.

`local` (the default) serves and predicts in the environment Shipyard runs in; `uv`,
`virtualenv` and `conda` build the model's own environment from its env files through the
projects' environment cache and run the command in it (`commands/model_environment.py`).
`build-docker` takes only the values its image honours.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

ENV_MANAGERS = ("local", "virtualenv", "uv", "conda")
"""The values MLflow takes."""

LATER = "an image installs the model's pip requirements (local or virtualenv); a conda image is not built"
"""Why `build-docker` refuses what its image does not build."""

SERVING_HELP = (
    "Where the model runs: local (this environment), or its own uv, virtualenv or conda "
    "environment built from its env files and reused [default: local]"
)

F = TypeVar("F", bound=Callable[..., Any])


def env_manager_option(
    help_text: str = "Where the model runs: only 'local' (this environment) is supported [default: local]",
) -> Callable[[F], F]:
    return click.option(
        "--env-manager", type=click.Choice(ENV_MANAGERS, case_sensitive=False), default=None, help=help_text
    )


def check_env_manager(env_manager: str | None, *, allowed: tuple[str, ...] = ("local",)) -> None:
    """A value Shipyard cannot honour is a usage error naming the flag and the way forward."""
    if env_manager is not None and env_manager.lower() not in allowed:
        raise click.BadParameter(f"{env_manager!r} is not supported: {LATER}", param_hint="--env-manager")


def serving_environment_options(f: F) -> F:
    """`--env-manager`, `--no-conda`, `--install-mlflow`, `--enable-mlserver` (MLflow's serve/predict)."""
    for option in (  # NOTE: applied last to first, so listed in `--help` in reverse
        click.option("--enable-mlserver", is_flag=True, help="Not supported: Shipyard serves with its own server."),
        click.option("--install-mlflow", is_flag=True, help="Not supported: Shipyard installs itself, not MLflow."),
        click.option("--no-conda", is_flag=True, help="Use this environment (MLflow's older spelling of local)."),
    ):
        f = option(f)
    return env_manager_option(SERVING_HELP)(f)


def check_serving_environment(
    env_manager: str | None, no_conda: bool, install_mlflow: bool, enable_mlserver: bool
) -> None:
    if no_conda and env_manager is not None and env_manager.lower() != "local":
        raise click.BadParameter(f"--no-conda means local; it contradicts --env-manager {env_manager}")
    check_env_manager(env_manager, allowed=ENV_MANAGERS)
    if install_mlflow:
        raise click.BadParameter(
            "is not supported: Shipyard installs itself (not MLflow) into a model's environment",
            param_hint="--install-mlflow",
        )
    if enable_mlserver:
        raise click.BadParameter(
            "MLServer is not supported: `shipyard serve` is the inference server (MLflow scoring "
            "protocol and KServe V2, which MLServer clients speak)",
            param_hint="--enable-mlserver",
        )


__all__ = [
    "ENV_MANAGERS",
    "check_env_manager",
    "check_serving_environment",
    "env_manager_option",
    "serving_environment_options",
]
