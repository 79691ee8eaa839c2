"""The `shipyard` command line: one click group; each area contributes its commands.

An area adds a line to `COMMANDS` (name -> "module:attr" of its click command). The MLflow
command names (`experiments`, `runs`, `artifacts`, `gc`, `db`, `ui`, `models serve` ...) live in
`commands/`, one module per group, each a thin entry into the code the Python API uses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from shipyard.lazy import load
from shipyard.version import __version__

COMMANDS: dict[str, str] = {
    "artifacts": "shipyard.commands.artifacts:artifacts",
    "build-docker": "shipyard.commands.model_image:build_docker",
    "db": "shipyard.commands.db:db",
    "env": "shipyard.commands.env:env",
    "experiments": "shipyard.commands.experiments:experiments",
    "flush": "shipyard.commands.flush:flush",
    "gc": "shipyard.commands.gc:gc",
    "generate-dockerfile": "shipyard.images.cli:generate_dockerfile",
    "generate-k8s": "shipyard.k8s.cli:generate_k8s",
    "models": "shipyard.models_cli:models_cli",
    "run": "shipyard.commands.run:run_command",
    "runs": "shipyard.commands.runs:runs",
    "serve": "shipyard.commands.model_serving:serve_command",
    "server": "shipyard.server.cli:server_command",
    "ui": "shipyard.commands.ui:ui_command",
}
"""Command name -> import string of its click command, imported only when that command runs."""


class LazyGroup(click.Group):
    """A click group whose commands come from a table of import strings (`COMMANDS` for the
    root; a subgroup passes its own as `lazy_commands=`), each imported on first use.

    NOTE: the serving image runs `shipyard serve` and installs only serving's dependencies (the
    `serve` extra): importing every command up front would import docker-py, SQLAlchemy and the
    tracking server there (and cost about 0.5 s on every start).
    """

    def __init__(self, *args: Any, lazy_commands: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands: Mapping[str, str] = COMMANDS if lazy_commands is None else lazy_commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands and cmd_name not in self.commands:
            try:
                command = load(self.lazy_commands[cmd_name])
            except ModuleNotFoundError as exc:  # e.g. a serving image: no SQLAlchemy, no docker-py
                command = _unavailable(_full_name(ctx, cmd_name), _missing_package(exc))
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        """A package missing when a command runs (a store needs SQLAlchemy) is a message, too."""
        try:
            return super().invoke(ctx)
        except ModuleNotFoundError as exc:
            missing = _missing_package(exc)
            raise click.ClickException(_missing(_full_name(ctx, ctx.invoked_subcommand or ""), missing)) from None


def _full_name(ctx: click.Context | None, cmd_name: str) -> str:
    """`models serve` for the `serve` of the `models` group (the program's own name left out)."""
    parents = ctx.command_path.split()[1:] if ctx is not None else []
    return " ".join([*parents, cmd_name])


def _missing_package(exc: ModuleNotFoundError) -> str:
    """The third-party package that is not installed; our own module missing is a bug: re-raised."""
    if not exc.name or exc.name.split(".")[0] == "shipyard":
        raise exc
    return exc.name


def _reason(missing: str) -> str:
    return f"needs the {missing!r} package, which is not installed here"


def _missing(name: str, missing: str) -> str:
    return (
        f"`shipyard {name}` {_reason(missing)} (an image installs only serving's dependencies); "
        "install Shipyard with its dependencies: pip install shipyard"
    )


def _unavailable(name: str, missing: str) -> click.Command:
    """A stand-in that says why `name` cannot run here, so `--help` and the error stay clean."""
    reason = _reason(missing)

    def fail(**_: object) -> None:
        raise click.ClickException(_missing(name, missing))

    return click.Command(
        name.rpartition(" ")[2],
        callback=fail,
        help=f"Unavailable: {reason}.",
        short_help=f"(unavailable: {reason})",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )


@click.group(cls=LazyGroup)
@click.version_option(__version__, prog_name="shipyard")
def cli() -> None:
    """Shipyard: train, register, serve and ship models."""


def main() -> None:
    """Console-script entry point."""
    cli()


__all__ = ["COMMANDS", "LazyGroup", "cli", "main"]
