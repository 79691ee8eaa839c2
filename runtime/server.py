"""uvicorn set-up for `shipyard serve`: uvloop + httptools, logging, graceful SIGTERM.

With `--workers 1` (the default) the app object is handed to one uvicorn server in this process.
With `--workers N` uvicorn forks N processes; each builds its app through `app_from_env`, from the
effective settings and the already-resolved model identity passed in environment variables (the
registry is asked once, by the parent).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from typing import Any

import uvicorn

from shipyard.runtime.app import create_app
from shipyard.runtime.model import ModelIdentity, resolve_model
from shipyard.runtime.settings import ServeSettings
from shipyard.settings import Settings

logger = logging.getLogger("shipyard.runtime")
IDENTITY_ENV = "SHIPYARD_SERVE_IDENTITY"
SETTINGS_ENV = "SHIPYARD_SERVE_SETTINGS"


def configure_logging(level: str) -> None:
    """Shipyard's log records on stderr (the access log writes its JSON lines itself)."""
    root_handler = logging.StreamHandler(sys.stderr)
    root_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    shipyard_logger = logging.getLogger("shipyard")
    shipyard_logger.handlers[:] = [root_handler]
    shipyard_logger.propagate = False
    shipyard_logger.setLevel(level.upper())


def uvicorn_options(settings: ServeSettings) -> dict[str, Any]:
    return {
        "host": settings.host,
        "port": settings.port,
        "loop": "uvloop",
        "http": "httptools",
        "lifespan": "on",
        "access_log": False,  # NOTE: ours is structured and carries the request id
        "log_level": settings.log_level,
        "timeout_graceful_shutdown": settings.graceful_timeout,
        "timeout_keep_alive": 30,
        "server_header": False,
        "proxy_headers": False,  # NOTE: nothing here reads the client address; saves a wrapper per request
    }


def serve(settings: ServeSettings, base: Settings) -> None:
    """Resolve the model, print the effective settings once, and serve until SIGTERM/SIGINT."""
    configure_logging(settings.log_level)
    identity = resolve_model(settings.model_uri, name=settings.name, settings=base)
    effective = settings.model_dump(mode="json")
    logger.info("shipyard serve settings: %s", json.dumps(effective, sort_keys=True))
    logger.info("serving model: %s", json.dumps(identity.to_dict(), sort_keys=True))
    # NOTE: uvicorn re-raises SIGTERM after its graceful shutdown; a no-op handler installed first
    # is what it restores and re-raises into, so a drained server exits 0.
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    if settings.workers == 1:
        config = uvicorn.Config(create_app(settings, identity), **uvicorn_options(settings))
        uvicorn.Server(config).run()
        return
    os.environ[SETTINGS_ENV] = settings.model_dump_json()
    os.environ[IDENTITY_ENV] = json.dumps(identity.to_dict())
    uvicorn.run(
        "shipyard.runtime.server:app_from_env",
        factory=True,
        workers=settings.workers,
        **uvicorn_options(settings),
    )


def app_from_env() -> Any:
    """Worker-process edge: rebuild settings and identity that the parent put in the environment."""
    settings = ServeSettings.model_validate_json(os.environ[SETTINGS_ENV])
    configure_logging(settings.log_level)
    raw = json.loads(os.environ[IDENTITY_ENV])
    raw["aliases"] = tuple(raw.get("aliases") or ())
    return create_app(settings, ModelIdentity(**raw))


__all__ = ["app_from_env", "configure_logging", "serve", "uvicorn_options"]
