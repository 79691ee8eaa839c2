"""The `shipyard` command line: one click group; each area contributes its commands."""
from __future__ import annotations

import click

from shipyard.images.cli import build_docker, generate_dockerfile
from shipyard.registry.cli import models_cli
from shipyard.runtime.cli import serve_command
from shipyard.tracking.server.cli import server_command
from shipyard.version import __version__


@click.group()
@click.version_option(__version__, prog_name="shipyard")
def cli() -> None:
    """Shipyard: train, register, serve and ship models."""


cli.add_command(build_docker)
cli.add_command(generate_dockerfile)
cli.add_command(serve_command)
cli.add_command(models_cli)
cli.add_command(server_command)


def main() -> None:
    """Console-script entry point."""
    cli()


__all__ = ["cli", "main"]
