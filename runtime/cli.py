"""`shipyard serve`: flags win over `SHIPYARD_*` variables, which win over the defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from shipyard.exceptions import InvalidInput, ShipyardError
from shipyard.runtime.model_list import entries_of_flags, read_model_list, with_shadows
from shipyard.runtime.server import serve
from shipyard.runtime.settings import ServeSettings
from shipyard.settings import settings_from_flags


@click.command("serve")
@click.option(
    "-m",
    "--model-uri",
    multiple=True,
    help="Model directory, file://, models:/name/<version|stage|@alias> or runs:/ [SHIPYARD_MODEL_URI]; "
    "repeat as -m NAME=URI to serve several (POST /models/NAME/invocations), as -m NAME=URI:WEIGHT to split "
    "one name's traffic by weight (sticky by the X-Shipyard-Route-Key header)",
)
@click.option(
    "--shadow",
    "shadows",
    multiple=True,
    help="[NAME=]URI: send a copy of every request to this version after the answer (never delaying or "
    "failing it); its latency, errors and disagreement are in /metrics (shipyard_shadow_*)",
)
@click.option(
    "--models",
    "models_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML model list: models: [{name, uri | routes: [{uri, weight}], shadow, max_batch_size, "
    "max_batch_delay_ms, max_queue}]",
)
@click.option(
    "--follow/--no-follow",
    default=None,
    help="Swap to the version a stage, alias or latest names when the registry moves it "
    "[SHIPYARD_FOLLOW, default on for those URIs]",
)
@click.option(
    "--poll-interval",
    type=float,
    help="Seconds between registry polls when following [SHIPYARD_POLL_INTERVAL, default 5]",
)
@click.option("-h", "--host", help="Interface to bind [SHIPYARD_HOST, default 127.0.0.1]")
@click.option("-p", "--port", type=int, help="Port [SHIPYARD_PORT, default 5000]")
@click.option("-w", "--workers", type=int, help="Server processes, one model copy each [SHIPYARD_WORKERS, default 1]")
@click.option(
    "--threads",
    type=int,
    help="Predicts running at once per process [SHIPYARD_THREADS, default cores, max 4]; more than one helps "
    "models that release the GIL in predict (onnxruntime, torch), not pure-Python ones",
)
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
@click.option(
    "--max-queue-ms",
    type=float,
    help="Longest wait for predict before 503 + Retry-After [SHIPYARD_MAX_QUEUE_MS, default: four batches "
    "at the measured batch time, at least 500 ms, at most half --timeout]",
)
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
    """Serve one model over REST (MLflow scoring protocol and KServe V2).

    A stage, alias or latest URI (models:/iris/Production, models:/iris@champion) is followed:
    a new version is loaded and warmed up beside the old one, then takes the traffic; one that
    fails keeps the old one answering."""
    uris: tuple[str, ...] = flags.pop("model_uri")
    models_file: Path | None = flags.pop("models_file")
    shadows: tuple[str, ...] = flags.pop("shadows")
    try:
        entries = entries_of_flags(uris)
        if models_file is not None or len(entries) > 1 or (entries and entries[0].routes) or shadows:
            listed = read_model_list(models_file) if models_file is not None else ()
            if shadows and not (entries or listed):
                raise InvalidInput("--shadow: give the model it shadows with -m (or shadow: in --models)")
            flags["models"] = with_shadows((*entries, *listed), shadows)
        elif uris:
            flags["model_uri"] = uris[0]
    except ShipyardError as exc:
        raise click.UsageError(exc.message) from None
    settings = settings_from_flags(ServeSettings, flags)
    try:
        serve(settings)
    except ShipyardError as exc:
        raise click.ClickException(f"{exc.error_code}: {exc.message}") from None


__all__ = ["serve_command"]
