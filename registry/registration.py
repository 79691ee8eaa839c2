"""Registering a version: reserve a number, store an immutable verified copy, then mark READY.

The order is what makes a crash harmless: the row is PENDING_REGISTRATION while files are copied
(resolution refuses anything not READY), the copy is published by an atomic rename only after it
was verified and fsynced, and READY is written last. A process killed at any point leaves a
PENDING row and perhaps a temp dir (swept by the next registration on this host); the next
registration simply takes the next number.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

from shipyard.exceptions import InvalidInput
from shipyard.registry.entities import STATUS_PENDING, ModelVersion
from shipyard.registry.search import quote_value
from shipyard.registry.storage import ObjectVersionStorage, ProgressCallback, VersionStorage, pid_alive
from shipyard.registry.store import AbstractRegistryStore
from shipyard.tracking.artifact_transfer import ObjectStoreRepository
from shipyard.tracking.artifacts import artifact_uri_scheme, file_uri_to_path, get_artifact_repository
from shipyard.tracking.http_settings import RestClientSettings

MLMODEL_FILE_NAME = "MLmodel"
STORAGE_DIR = "model-versions"
_OWNER_PREFIX = "registering on"
_OWNER = re.compile(r"^registering on (?P<host>\S+) pid (?P<pid>\d+)$")


def version_storage(
    store: AbstractRegistryStore, http: RestClientSettings | None = None
) -> VersionStorage | ObjectVersionStorage:
    """The immutable storage under the store's artifact root: a local folder, or the object
    store's `model-versions/` (reached with `http`'s object-store settings)."""
    if artifact_uri_scheme(store.artifact_root) != "file":
        repo = get_artifact_repository(f"{store.artifact_root.rstrip('/')}/{STORAGE_DIR}", http)
        if isinstance(repo, ObjectStoreRepository):
            return ObjectVersionStorage(repo)
    try:
        root = file_uri_to_path(store.artifact_root)
    except InvalidInput:
        raise InvalidInput(
            f"artifact root {store.artifact_root!r} is not a local folder; "
            "registering versions needs a file:// artifact root"
        ) from None
    return VersionStorage(root / STORAGE_DIR)


def register_version(
    store: AbstractRegistryStore,
    name: str,
    local_dir: str | Path,
    *,
    source: str,
    run_id: str | None = None,
    tags: dict[str, str] | None = None,
    description: str | None = None,
    user_id: str | None = None,
    progress: ProgressCallback | None = None,
    http: RestClientSettings | None = None,
) -> ModelVersion:
    """Copy `local_dir` into version storage as the next version of `name` (which must exist)."""
    local_dir = Path(local_dir)
    if not (local_dir / MLMODEL_FILE_NAME).is_file():
        raise InvalidInput(f"{source!r} is not a model directory: {str(local_dir)!r} has no {MLMODEL_FILE_NAME} file")
    storage = version_storage(store, http)
    storage.sweep_stale_tmp()
    reap_abandoned(store, name)
    mv = store.create_model_version(
        name,
        source,
        run_id,
        tags,
        None,
        description,
        user_id=user_id,
        status_message=f"{_OWNER_PREFIX} {socket.gethostname()} pid {os.getpid()}",
    )
    with storage.lock(exclusive=False):
        try:
            copy = storage.put(local_dir, progress=progress)
        except BaseException as exc:
            store.fail_model_version(name, mv.version, f"{type(exc).__name__}: {exc}")
            raise
        return store.finish_model_version(name, mv.version, digest=copy.digest, storage_location=copy.location)


def reap_abandoned(store: AbstractRegistryStore, name: str) -> list[int]:
    """Mark FAILED_REGISTRATION the pending versions of `name` whose registering process, on this
    host, no longer runs (killed mid-copy); returns their numbers. Other hosts' are left alone."""
    reaped = []
    host = socket.gethostname()
    pending = store.search_model_versions(f"name = '{quote_value(name)}' AND status = '{STATUS_PENDING}'")
    for mv in pending:
        owner = _OWNER.match(mv.status_message or "")
        if owner and owner["host"] == host and not pid_alive(int(owner["pid"])):
            store.fail_model_version(
                name,
                mv.version,
                f"the registering process (pid {owner['pid']} on {host}) ended before the copy completed",
            )
            reaped.append(mv.version)
    return reaped


def release_storage(
    store: AbstractRegistryStore, digests: list[str | None], http: RestClientSettings | None = None
) -> None:
    """Free stored copies no remaining version points at (after deletes)."""
    if not any(digests):
        return  # NOTE: also the remote registry's case: the server freed its copies itself
    storage = version_storage(store, http)
    with storage.lock(exclusive=True):
        for digest in {d for d in digests if d}:
            if not store.digest_in_use(digest):
                storage.delete(digest)


__all__ = [
    "MLMODEL_FILE_NAME",
    "STORAGE_DIR",
    "reap_abandoned",
    "register_version",
    "release_storage",
    "version_storage",
]
