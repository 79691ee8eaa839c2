"""`model-versions/create` sources on a server whose artifacts live in an object store.

The same rules as `version_sources` (a source inside the run or logged model that `run_id` /
`model_id` names; `runs:/`, `models:/m-<id>`, `mlflow-artifacts:/`), checked on store URIs
instead of local paths; the folder is then fetched into a temporary local folder, from which
registration copies it into the store's digest-addressed storage. The caller removes the
fetched folder's parent afterwards.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from shipyard.exceptions import InvalidInput, ResourceNotFound
from shipyard.server.artifact_uris import PROXY_SCHEME
from shipyard.server.context import INTERNAL_DIR, ServerContext
from shipyard.server.logged_models import check_model_id
from shipyard.server.version_sources import _proxied, invalid_source
from shipyard.tracking import validation
from shipyard.tracking.artifacts import get_artifact_repository, safe_relative_path

FETCH_PREFIX = "shipyard-version-source-"


def _inside(uri: str, folder_uri: str) -> bool:
    folder = folder_uri.rstrip("/")
    return uri == folder or uri.startswith(folder + "/")


def store_source_uri(
    ctx: ServerContext, source: str, run_id: str | None, model_id: str | None
) -> tuple[str, str | None]:
    """(store URI of the model folder, the run it came from)."""
    proxied = _proxied(source)
    if model_id or source.startswith("models:/m-"):
        named = source[len("models:/") :].strip("/") if source.startswith("models:/m-") else None
        if model_id and named and named != model_id:
            raise invalid_source(source, "model_id")
        try:
            logged = ctx.logged_models.get(check_model_id(model_id or named or ""))
        except ResourceNotFound:
            raise invalid_source(source, "model_id") from None
        location = str(logged["artifact_location"])
        if named:
            return location, logged.get("source_run_id")
        uri = ctx.uris.to_server(proxied, what="source")
        if not _inside(uri, location):
            raise invalid_source(source, "model_id")
        return uri, logged.get("source_run_id")
    if source.startswith("runs:/"):
        source_run_id, _, path = source[len("runs:/") :].lstrip("/").partition("/")
        if run_id and run_id != source_run_id:
            raise invalid_source(source, "run_id")
        base = _run_artifacts(ctx, source_run_id, source)
        relative = safe_relative_path(path, what="source")
        return (f"{base.rstrip('/')}/{relative}" if relative else base), source_run_id
    if run_id:
        uri = ctx.uris.to_server(proxied, what="source")
        if not _inside(uri, _run_artifacts(ctx, run_id, source)):
            raise invalid_source(source, "run_id")
        return uri, run_id
    if proxied.startswith(f"{PROXY_SCHEME}:"):
        if ctx.uris.relative_of(proxied, what="source").split("/", 1)[0] == INTERNAL_DIR:
            raise InvalidInput(f"source {source!r} is in the server's own folder, which holds no models")
        return ctx.uris.to_server(proxied, what="source"), None
    raise invalid_source(source, "run_id")


def _run_artifacts(ctx: ServerContext, run_id: str, source: str) -> str:
    try:
        return ctx.tracking.get_run(validation.check_run_id(run_id)).info.artifact_uri
    except (ResourceNotFound, InvalidInput):
        raise invalid_source(source, "run_id") from None


def fetch_source(ctx: ServerContext, uri: str) -> Path:
    """The model folder at `uri` fetched into a new temporary folder (removed by the caller)."""
    root = Path(tempfile.mkdtemp(prefix=FETCH_PREFIX))
    folder = root / "model"
    get_artifact_repository(uri, ctx.http).download_artifacts("", folder)
    return folder


__all__ = ["fetch_source", "store_source_uri"]
