"""What every request handler of one server process shares: stores, URI translation, limits."""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request

from shipyard.registry.store import AbstractRegistryStore, get_registry_store
from shipyard.server.artifact_uris import ArtifactUris
from shipyard.server.logged_models import LoggedModelStore
from shipyard.server.settings import ServerSettings
from shipyard.tracking.artifacts import path_to_file_uri
from shipyard.tracking.store import AbstractTrackingStore, get_tracking_store

INTERNAL_DIR = ".shipyard"
"""Folder under the artifact root for the server's own files (never readable through the proxy)."""


@dataclass
class ServerContext:
    settings: ServerSettings
    tracking: AbstractTrackingStore
    registry: AbstractRegistryStore
    uris: ArtifactUris
    logged_models: LoggedModelStore
    write_lock: contextlib.AbstractContextManager[object] = field(default_factory=contextlib.nullcontext)
    """Held around run writes. On sqlite it is a real lock: one writer at a time in this process
    queues in memory instead of sleeping in sqlite's busy-wait (which made the p99 latency)."""

    @classmethod
    def open(cls, settings: ServerSettings) -> ServerContext:
        root = Path(settings.default_artifact_root).expanduser().resolve()
        root.mkdir(parents=True, exist_ok=True)
        root_uri = path_to_file_uri(root)
        return cls(
            settings=settings,
            tracking=get_tracking_store(settings.backend_store_uri, root_uri),
            registry=get_registry_store(settings.backend_store_uri, root_uri),
            uris=ArtifactUris(root),
            logged_models=LoggedModelStore(root / INTERNAL_DIR / "logged-models"),
            write_lock=threading.Lock()
            if settings.backend_store_uri.startswith("sqlite")
            else contextlib.nullcontext(),
        )

    @property
    def artifact_root(self) -> Path:
        return self.uris.root


def context_of(request: Request) -> ServerContext:
    ctx: ServerContext = request.app.state.ctx
    return ctx


def user_of(request: Request, claimed: Any = None) -> str:
    """Who acts: the authenticated user when auth says so, else what the client claims."""
    authenticated = request.scope.get("shipyard.user")
    if authenticated:
        return str(authenticated)
    return str(claimed) if claimed else "unknown"


__all__ = ["INTERNAL_DIR", "ServerContext", "context_of", "user_of"]
