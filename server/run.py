"""Starting the tracking server: say how it is protected, then hand the app to uvicorn."""

from __future__ import annotations

import logging
import os
import sys

import uvicorn

from shipyard.server.app import SETTINGS_ENV, create_app
from shipyard.server.settings import ServerSettings

logger = logging.getLogger("shipyard.server")


def _configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    shipyard_logger = logging.getLogger("shipyard")
    shipyard_logger.handlers[:] = [handler]
    shipyard_logger.propagate = False
    shipyard_logger.setLevel(level.upper())


def announce(settings: ServerSettings) -> list[str]:
    """The start-up lines about who may connect (the loud one when nothing protects a public bind)."""
    lines = [
        f"shipyard server: backend {settings.backend_store_uri}, artifacts proxied from {settings.default_artifact_root}"
    ]
    if settings.auth_enabled:
        kind = "bearer tokens" if settings.auth_token_file is not None else "basic-auth users"
        lines.append(f"shipyard server: authentication on ({kind}); listening on {settings.host}:{settings.port}")
    elif settings.loopback:
        lines.append(
            f"shipyard server: no authentication; bound to {settings.host}:{settings.port} (this machine only). "
            "Use --auth-token-file or --basic-auth-file before binding another interface."
        )
    else:
        bar = "!" * 78
        lines += [
            bar,
            f"WARNING: shipyard server listens on {settings.host}:{settings.port} WITHOUT AUTHENTICATION.",
            "Anyone who can reach this port can read, change and delete every run and model.",
            "Pass --auth-token-file or --basic-auth-file, or bind 127.0.0.1.",
            bar,
        ]
    return lines


def serve(settings: ServerSettings) -> None:
    _configure_logging(settings.log_level)
    for line in announce(settings):
        print(line, file=sys.stderr, flush=True)
    options = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "access_log": False,
        "server_header": False,
        "timeout_keep_alive": 30,
        "loop": "uvloop" if sys.platform != "win32" else "asyncio",
        "http": "httptools",
    }
    if settings.workers == 1:
        uvicorn.Server(uvicorn.Config(create_app(settings), **options)).run()
        return
    create_app(settings)  # NOTE: migrate once in the parent, not in N racing workers
    os.environ[SETTINGS_ENV] = settings.model_dump_json()
    uvicorn.run("shipyard.server.app:app_from_env", factory=True, workers=settings.workers, **options)


__all__ = ["announce", "serve"]
