"""`shipyard flush`: write to the tracking store what killed training processes left in their
spools (logging calls that returned but had not reached the store; see tracking/spool.py).

The next process that logs to the same store does this by itself; this is for a store nobody
logs to again, or to know it is done before reading.
"""

from __future__ import annotations

import click

from shipyard.commands.errors import reports_errors
from shipyard.redact import mask_url
from shipyard.settings import cli_settings
from shipyard.tracking.fluent_state import http_for, resolve_tracking_uri
from shipyard.tracking.spool import spool_dir
from shipyard.tracking.spool_replay import replay_orphans
from shipyard.tracking.store import get_tracking_store


@click.command("flush")
@click.option(
    "--backend-store-uri",
    metavar="URI",
    default=None,
    help="The tracking store (default: SHIPYARD_TRACKING_URI / MLFLOW_TRACKING_URI, else the embedded default).",
)
@reports_errors
def flush(backend_store_uri: str | None) -> None:
    """Replay the spools of logging processes that died before their data reached the store."""
    settings = cli_settings()
    uri = resolve_tracking_uri(backend_store_uri, settings)
    store = get_tracking_store(uri, None, http_for(settings))
    directory = spool_dir(str(getattr(store, "uri", uri)), settings.cache_dir)
    if directory is None:
        raise click.UsageError(f"tracking store {mask_url(uri)} keeps no spools (an in-memory database)")
    sent = replay_orphans(store, directory)
    click.echo(f"Replayed {sent} logged items into {mask_url(uri)} from {directory}.")


__all__ = ["flush"]
