"""Starting the tracking server: say how it is protected, then hand the app to uvicorn
(`shipyard.web.launch`: one process, or `--workers N` that each rebuild it from the hand-off)."""

from __future__ import annotations

import logging
import sys

from shipyard.redact import mask_url
from shipyard.server.app import HANDOFF_ENV, create_app
from shipyard.server.settings import ServerSettings
from shipyard.web import Launch, configure_logging, run_one, run_workers

logger = logging.getLogger("shipyard.server")


def announce(settings: ServerSettings) -> list[str]:
    """The start-up lines about who may connect (the loud one when nothing protects a public bind).

    The backend URL is shown with its password masked (this goes to the terminal and the logs)."""
    backend = mask_url(settings.backend_store_uri)
    lines = [f"shipyard server: backend {backend}, artifacts proxied from {settings.default_artifact_root}"]
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
    configure_logging(settings.log_level)
    for line in announce(settings):
        print(line, file=sys.stderr, flush=True)
    launch = Launch(host=settings.host, port=settings.port, log_level=settings.log_level, workers=settings.workers)
    if settings.workers == 1:
        run_one(create_app(settings), launch)
        return
    create_app(settings)  # NOTE: migrate once in the parent, not in N racing workers
    # NOTE: the hand-off carries the real backend URL (password included); only printing masks it.
    handoff = {"settings": settings.model_dump(mode="json")}
    run_workers("shipyard.server.app:app_from_env", launch, env=HANDOFF_ENV, handoff=handoff)


__all__ = ["announce", "serve"]
