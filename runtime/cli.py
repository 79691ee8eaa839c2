"""`shipyard serve`: flags win over `SHIPYARD_*` variables, which win over the defaults."""

from __future__ import annotations

from typing import Any

import click

from shipyard.exceptions import ShipyardError
from shipyard.runtime.server import serve
from shipyard.runtime.settings import ServeSettings
from shipyard.settings import settings_from_flags


@click.command("serve")
@click.option(
    "-m",
    "--model-uri",
    help="Model directory, file://, models:/name/<version|stage|@alias> or runs:/ [SHIPYARD_MODEL_URI]",
)
@click.option("-h", "--host", help="Interface to bind [SHIPYARD_HOST, default 127.0.0.1]")
@click.option("-p", "--port", type=int, help="Port [SHIPYARD_PORT, default 5000]")
@click.option("-w", "--workers", type=int, help="Server processes, one model copy each [SHIPYARD_WORKERS, default 1]")
@click.option("--threads", type=int, help="Predict threads per process [SHIPYARD_THREADS, default cores, max 4]")
@click.option(
    "--intra-op-threads",
    type=int,
    help="onnxruntime threads per predict [SHIPYARD_INTRA_OP_THREADS, default: all cores]",
)
@click.option("--max-batch-size", type=int, help="Most rows per predict call [SHIPYARD_MAX_BATCH_SIZE, default 256]")
@click.option(
    "--max-batch-delay-ms",
    type=float,
    help="Extra wait for rows when others queue [SHIPYARD_MAX_BATCH_DELAY_MS, default 0]",
)
@click.option("--max-queue", type=int, help="Requests waiting before 503 [SHIPYARD_MAX_QUEUE, default 512]")
@click.option("--timeout", type=float, help="Seconds a request may wait before 504 [SHIPYARD_TIMEOUT, default 60]")
@click.option("--max-body-bytes", type=int, help="Largest body before 413 [SHIPYARD_MAX_BODY_BYTES, default 16 MiB]")
@click.option("-n", "--name", help="Model name for /version, /v2 and metrics [SHIPYARD_NAME]")
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    help="[SHIPYARD_LOG_LEVEL, default info]",
)
@click.option(
    "--access-log/--no-access-log", default=None, help="One line per request [SHIPYARD_ACCESS_LOG, default on]"
)
@click.option(
    "--warmup/--no-warmup", default=None, help="Predict on the input example before ready [SHIPYARD_WARMUP, default on]"
)
@click.option(
    "--graceful-timeout", type=float, help="Seconds to drain after SIGTERM [SHIPYARD_GRACEFUL_TIMEOUT, default: all]"
)
def serve_command(**flags: Any) -> None:
    """Serve one model over REST (MLflow scoring protocol and KServe V2)."""
    settings = settings_from_flags(ServeSettings, flags)
    try:
        serve(settings)
    except ShipyardError as exc:
        raise click.ClickException(f"{exc.error_code}: {exc.message}") from None


__all__ = ["serve_command"]
