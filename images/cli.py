"""`shipyard build-docker` and `shipyard generate-dockerfile`: the edge where flags become a spec."""

from __future__ import annotations

import os
import shlex
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from shipyard.exceptions import ShipyardError
from shipyard.images.build import build_image, connect, human_size
from shipyard.images.context import write_context
from shipyard.images.source import resolve_model
from shipyard.images.spec import BuildOptions, check_image_ref, parse_key_values
from shipyard.settings import Settings, cli_settings


def _wheel_cache(settings: Settings) -> Path:
    return Path(settings.cache_dir) / "shipyard-wheels"


def _echo(line: str) -> None:
    click.echo(line)


def _options(
    base_image: str | None, wheelhouse: bool, ca_cert: tuple[str, ...], build_arg: tuple[str, ...],
    label: tuple[str, ...], gpu: bool,
) -> BuildOptions:  # fmt: skip
    return BuildOptions(
        base_image=base_image,
        wheelhouse=wheelhouse,
        ca_certs=tuple(Path(c) for c in ca_cert),
        build_args=parse_key_values("--build-arg", build_arg),
        labels=parse_key_values("--label", label),
        gpu=gpu,
    )


_common = [
    click.option("-m", "--model-uri", required=True, help="Model directory, file://, models:/ or runs:/ URI."),
    click.option("--base-image", default=None,
                 help="Base image with Python 3 (default python:3.11-slim); never pulled unless --pull."),
    click.option("--wheelhouse", is_flag=True,
                 help="Download every dependency as wheels on this host; the build needs no network."),
    click.option("--ca-cert", multiple=True, type=click.Path(dir_okay=False),
                 help="PEM certificate to add to the image's trust store (repeatable)."),
    click.option("--build-arg", multiple=True, metavar="K=V",
                 help="Build argument, e.g. PIP_INDEX_URL=... (repeatable)."),
    click.option("--label", multiple=True, metavar="K=V", help="Extra image label (repeatable)."),
    click.option("--gpu", is_flag=True, help="Mark the image for NVIDIA GPUs (run with --gpus all)."),
]  # fmt: skip


_Command = TypeVar("_Command", bound=Callable[..., Any])


def _with_common(f: _Command) -> _Command:
    for option in reversed(_common):
        f = option(f)
    return f


@click.command("build-docker")
@_with_common
@click.option("-n", "--name", required=True, help="Image NAME[:TAG].")
@click.option("--pull", is_flag=True, help="Pull the base image if it is not present.")
@click.option("--network", default=None, help="Network mode for RUN steps (e.g. none).")
def build_docker(
    model_uri: str, name: str, base_image: str | None, wheelhouse: bool, ca_cert: tuple[str, ...],
    build_arg: tuple[str, ...], label: tuple[str, ...], gpu: bool, pull: bool, network: str | None,
) -> None:  # fmt: skip
    """Build a non-root, labelled serving image for one model version."""
    try:
        check_image_ref("--name", name)
        options = _options(base_image, wheelhouse, ca_cert, build_arg, label, gpu)
        client = connect(dict(os.environ))
        try:
            settings = cli_settings()
            model = resolve_model(model_uri, settings=settings)
            with tempfile.TemporaryDirectory(prefix="shipyard-context-") as tmp:
                context = Path(tmp) / "context"
                spec = write_context(model, options, context, wheel_cache=_wheel_cache(settings), log=_echo)
                built = build_image(
                    client, context, name, base_image=spec.base_image,
                    build_args=options.build_args, pull=pull, network_mode=network, log=_echo,
                )  # fmt: skip
        finally:
            client.close()
    except ShipyardError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(
        f"built {built.tag} ({built.id[:19]}) in {built.seconds:.1f} s; image size {human_size(built.size_bytes)}"
    )


@click.command("generate-dockerfile")
@_with_common
@click.option(
    "-d",
    "--output-directory",
    "output",
    required=True,
    type=click.Path(file_okay=False),
    help="New or empty directory for the build context.",
)
def generate_dockerfile(
    model_uri: str, output: str, base_image: str | None, wheelhouse: bool, ca_cert: tuple[str, ...],
    build_arg: tuple[str, ...], label: tuple[str, ...], gpu: bool,
) -> None:  # fmt: skip
    """Write the build context (Dockerfile, dependencies, model) for your own build tools."""
    try:
        options = _options(base_image, wheelhouse, ca_cert, build_arg, label, gpu)
        settings = cli_settings()
        model = resolve_model(model_uri, settings=settings)
        write_context(model, options, Path(output), wheel_cache=_wheel_cache(settings), log=_echo)
    except ShipyardError as exc:
        raise click.ClickException(exc.message) from exc
    args = "".join(f" --build-arg {shlex.quote(k)}=..." for k in sorted(options.build_args))
    click.echo(f"wrote {Path(output) / 'Dockerfile'}; build it with:")
    click.echo(f"  docker build{args} -t NAME:TAG {shlex.quote(output)}")


__all__ = ["build_docker", "generate_dockerfile"]
