"""`shipyard build-docker` and `shipyard models build-docker`: `images/cli.py`'s command with
MLflow's `--env-manager`.

In an image the model's requirements are installed into the image's one virtual environment
at build time, which is what both `local` and `virtualenv` give in MLflow's images; `uv` and
`conda` are an error until Projects (issue 15) brings those environments."""

from __future__ import annotations

from typing import Any

import click

from shipyard.commands.environments import check_env_manager, env_manager_option
from shipyard.images.cli import build_docker as images_build_docker


@click.command("build-docker", help=images_build_docker.help)
@env_manager_option(
    "The image's environment: 'local' or 'virtualenv' (both: the model's requirements in the image's "
    "one virtual environment) [default: local]"
)
def build_docker(env_manager: str | None, **flags: Any) -> None:
    check_env_manager(env_manager, allowed=("local", "virtualenv"))
    assert images_build_docker.callback is not None
    images_build_docker.callback(**flags)


build_docker.params[:0] = list(images_build_docker.params)


__all__ = ["build_docker"]
