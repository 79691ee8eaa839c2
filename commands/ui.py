"""`shipyard ui`: MLflow's name for the tracking server with its local defaults.

The same command as `shipyard server` (same flags, same settings, same start): bound to
127.0.0.1 with the embedded default store of the working directory (`shipyard.db` and
`shipyard-artifacts/` beside it) unless told otherwise."""

from __future__ import annotations

import click

from shipyard.server.cli import server_command

ui_command = click.Command(
    "ui",
    params=list(server_command.params),
    callback=server_command.callback,
    help=(
        "The tracking server and its web UI on 127.0.0.1:5000, with the store of this folder "
        "(sqlite:///shipyard.db); the same command and flags as `shipyard server`."
    ),
    short_help="The tracking server and web UI on this machine (= server).",
)


__all__ = ["ui_command"]
