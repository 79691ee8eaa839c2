"""What the tracking commands share: `--tracking-uri`, the client built at this edge, views.

The store is the one every entry point resolves (`fluent_state.resolve_tracking_uri`):
`--tracking-uri`, else `SHIPYARD_TRACKING_URI`, else `MLFLOW_TRACKING_URI`, else the embedded
sqlite default in the working directory.
"""

from __future__ import annotations

import click

from shipyard.settings import Settings, cli_settings
from shipyard.tracking.client import TrackingClient
from shipyard.tracking.entities import ViewType

VIEWS = {"active_only": ViewType.ACTIVE_ONLY, "deleted_only": ViewType.DELETED_ONLY, "all": ViewType.ALL}

tracking_uri_option = click.option(
    "--tracking-uri",
    default=None,
    help="Tracking store URI [SHIPYARD_TRACKING_URI, then MLFLOW_TRACKING_URI, default sqlite in the cwd]",
)

view_option = click.option(
    "-v",
    "--view",
    type=click.Choice(sorted(VIEWS), case_sensitive=False),
    default="active_only",
    show_default=True,
    help="Which lifecycle stages to list.",
)


def open_client(tracking_uri: str | None) -> tuple[TrackingClient, Settings]:
    """The client of the resolved store, and the settings this command built (the edge)."""
    settings = cli_settings()
    return TrackingClient(tracking_uri, settings=settings), settings


__all__ = ["VIEWS", "open_client", "tracking_uri_option", "view_option"]
