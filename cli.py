"""The `shipyard` command line: one click group; each area contributes its commands."""
from __future__ import annotations

import click

from shipyard.registry.cli import models_cli
from shipyard.runtime.cli import serve_command
from shipyard.version import __version__


@click.group()
@click.version_option(__version__, prog_name="shipyard")
def cli() -> None:
    """Shipyard: train, register, serve and ship models."""


cli.add_command(models_cli)
cli.add_command(serve_command)


def main() -> None:
    """Console-script entry point."""
    cli()


__all__ = ["cli", "main"]
