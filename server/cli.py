"""`shipyard server`: flags win over `SHIPYARD_SERVER_*` variables, which win over the defaults."""

from __future__ import annotations

from typing import Any

import click

from shipyard.exceptions import ShipyardError
from shipyard.server.run import serve
from shipyard.server.settings import ServerSettings
from shipyard.settings import settings_from_flags


@click.command("server")
@click.option("--backend-store-uri", help="SQLAlchemy URL of runs and registry [default sqlite:///shipyard.db]")
@click.option(
    "--default-artifact-root",
    help="Where artifacts live: a folder, s3://bucket/path or wasbs://... [default ./shipyard-artifacts]",
)
@click.option("--artifacts-destination", help="MLflow's name for the same place (wins over --default-artifact-root)")
@click.option(
    "--serve-artifacts/--no-serve-artifacts",
    default=None,
    help="Proxy artifacts through this server (default), or hand clients the store's own URIs",
)
@click.option("-h", "--host", help="Interface to bind [default 127.0.0.1]")
@click.option("-p", "--port", type=int, help="Port [default 5000]")
@click.option("-w", "--workers", type=int, help="Server processes [default 1]")
@click.option("--auth-token-file", type=click.Path(exists=True, dir_okay=False), help="Bearer tokens, one per line")
@click.option("--basic-auth-file", type=click.Path(exists=True, dir_okay=False), help="user:password lines")
@click.option("--max-body-bytes", type=int, help="Largest JSON request body before 413 [default 16 MiB]")
@click.option("--max-artifact-bytes", type=int, help="Largest artifact upload before 413 [default 20 GiB]")
@click.option("--static-prefix", help="Path prefix of every route, e.g. /mlflow (behind a proxy path)")
@click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]))
def server_command(**flags: Any) -> None:
    """Serve MLflow's tracking and registry REST API, the artifact proxy and the web UI."""
    # NOTE: MLflow's destination and default root are one place in Shipyard (clients are told the
    # proxy's URIs, or with --no-serve-artifacts the store's own): the destination wins.
    destination = flags.pop("artifacts_destination")
    if destination is not None:
        flags["default_artifact_root"] = destination
    settings = settings_from_flags(ServerSettings, flags)
    try:
        serve(settings)
    except ShipyardError as exc:
        raise click.ClickException(f"{exc.error_code}: {exc.message}") from None


__all__ = ["server_command"]
