"""Starting `shipyard serve`: logging, the model's identity, then uvicorn (`shipyard.web.launch`).

With `--workers 1` (the default) the app object is handed to one uvicorn server in this process.
With `--workers N` uvicorn starts N processes; each builds its app through `app_from_env`, from the
effective settings and the already-resolved model identity handed over in the environment (the
registry is asked once, by the parent), and counts its metrics into one directory shared by all
workers, so `/metrics` is the whole server's.
"""

from __future__ import annotations

import json
import logging
import signal
from pathlib import Path

from starlette.types import ASGIApp

from shipyard.runtime.app import create_app
from shipyard.runtime.metrics_shared import shared_metrics_directory
from shipyard.runtime.model import ModelIdentity
from shipyard.runtime.model_set import resolve_placements
from shipyard.runtime.settings import ServeSettings
from shipyard.web import Launch, configure_logging, handed_over, run_one, run_workers

logger = logging.getLogger("shipyard.runtime")
HANDOFF_ENV = "SHIPYARD_SERVE_HANDOFF"
"""The environment variable that carries settings and identity to `--workers N` processes."""


def launch_of(settings: ServeSettings) -> Launch:
    return Launch(
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        workers=settings.workers,
        lifespan="on",
        graceful_timeout=settings.graceful_timeout,
        proxy_headers=False,  # NOTE: nothing here reads the client address; saves a wrapper per request
    )


def serve(settings: ServeSettings) -> None:
    """Resolve the model, print the effective settings once, and serve until SIGTERM/SIGINT."""
    configure_logging(settings.log_level)
    identities = [placement.identity for placement in resolve_placements(settings)]
    effective = settings.public_dump()  # NOTE: masked; the hand-off below carries the real URLs
    logger.info("shipyard serve settings: %s", json.dumps(effective, sort_keys=True))
    for identity in identities:
        logger.info("serving model: %s", json.dumps(identity.to_dict(), sort_keys=True))
    # NOTE: uvicorn re-raises SIGTERM after its graceful shutdown; a no-op handler installed first
    # is what it restores and re-raises into, so a drained server exits 0.
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    launch = launch_of(settings)
    if settings.workers == 1:
        run_one(create_app(settings, *identities), launch)
        return
    with shared_metrics_directory() as metrics_dir:
        handoff = {
            "settings": settings.model_dump(mode="json"),
            "identities": [identity.to_dict() for identity in identities],
            "metrics_dir": str(metrics_dir),
        }
        run_workers("shipyard.runtime.server:app_from_env", launch, env=HANDOFF_ENV, handoff=handoff)


def app_from_env() -> ASGIApp:
    """Worker-process edge: rebuild the settings and identity the parent handed over."""
    handoff = handed_over(HANDOFF_ENV)
    settings = ServeSettings.model_validate(handoff["settings"])
    configure_logging(settings.log_level)
    identities = [ModelIdentity.from_dict(data) for data in handoff["identities"]]
    return create_app(settings, *identities, metrics_dir=Path(handoff["metrics_dir"]))


__all__ = ["HANDOFF_ENV", "app_from_env", "launch_of", "serve"]
