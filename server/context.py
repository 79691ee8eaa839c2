"""What every request handler of one server process shares: stores, URI translation, limits."""

from __future__ import annotations

import contextlib
import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request

from shipyard.exceptions import InvalidInput
from shipyard.registry.store import AbstractRegistryStore, get_registry_store
from shipyard.server.artifact_uris import ArtifactUris
from shipyard.server.logged_models import LoggedModelStore
from shipyard.server.settings import ServerSettings
from shipyard.tracking.artifact_transfer import ObjectStoreRepository
from shipyard.tracking.artifacts import artifact_uri_scheme, get_artifact_repository, path_to_file_uri
from shipyard.tracking.http_settings import RestClientSettings
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
    store: ObjectStoreRepository | None = None
    """The object store holding every artifact when the root is `s3://` or `wasbs://`, else None."""
    http: RestClientSettings = field(default_factory=RestClientSettings)
    """How this server reaches object stores (endpoint, credentials, parts), from its settings."""

    @classmethod
    def open(cls, settings: ServerSettings) -> ServerContext:
        http = RestClientSettings.from_settings(settings.base)
        store, root, root_uri = open_artifact_root(settings.default_artifact_root, http)
        return cls(
            settings=settings,
            tracking=get_tracking_store(settings.backend_store_uri, root_uri),
            registry=get_registry_store(settings.backend_store_uri, root_uri),
            uris=ArtifactUris(root, root_uri=root_uri, serve=settings.serve_artifacts),
            logged_models=LoggedModelStore(internal_dir(settings, root) / "logged-models"),
            store=store,
            http=http,
            write_lock=threading.Lock()
            if settings.backend_store_uri.startswith("sqlite")
            else contextlib.nullcontext(),
        )

    @property
    def artifact_root(self) -> Path:
        """The local artifact folder (only when `store` is None)."""
        assert self.uris.root is not None, "artifact_root of an object-store server"
        return self.uris.root


def open_artifact_root(root: str, http: RestClientSettings) -> tuple[ObjectStoreRepository | None, Path | None, str]:
    """(object store or None, local folder or None, root URI). An object store is reached once
    here, so a missing bucket, missing credentials or a missing extra stop the start with a
    message naming them, not the first upload."""
    if artifact_uri_scheme(root) == "file":
        folder = Path(root).expanduser().resolve()
        folder.mkdir(parents=True, exist_ok=True)
        return None, folder, path_to_file_uri(folder)
    repo = get_artifact_repository(root, http)
    if not isinstance(repo, ObjectStoreRepository):
        raise InvalidInput(f"artifact root {root!r} is not a local folder or an object store")
    repo.list_artifacts(INTERNAL_DIR)
    return repo, None, root


def internal_dir(settings: ServerSettings, root: Path | None) -> Path:
    """The server's own files: under the local root, or (object store) under the cache folder.

    NOTE: with an object store, these (logged models' records) are per server host."""
    if root is not None:
        return root / INTERNAL_DIR
    digest = hashlib.sha256(settings.default_artifact_root.encode()).hexdigest()[:16]
    return Path(settings.base.cache_dir) / "server" / digest


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
