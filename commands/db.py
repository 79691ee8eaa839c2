"""`shipyard db ...`: the tracking database itself. `db upgrade URL` runs Shipyard's migrations.

Further subcommands (`db import`) add a line to `DB_COMMANDS`, imported only when they run.
"""

from __future__ import annotations

import click

from shipyard.cli import LazyGroup

DB_COMMANDS: dict[str, str] = {
    "import": "shipyard.commands.db_import:import_",
    "upgrade": "shipyard.commands.db_upgrade:upgrade",
}
"""Subcommand -> import string of its click command."""


@click.group("db", cls=LazyGroup, lazy_commands=DB_COMMANDS)
def db() -> None:
    """The tracking and registry database: bring its schema up to date."""


__all__ = ["DB_COMMANDS", "db"]
