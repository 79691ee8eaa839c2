"""`/api/2.0/mlflow-artifacts/artifacts/<path>`: the artifact proxy (upload, download, list).

Bodies stream in and out in chunks; an upload goes to a temporary file beside its target and
is renamed into place only when complete, so a cut-off or oversized upload leaves nothing.
Every path is confined to the artifact root; the server's own folder and the immutable
version storage are read-only (or hidden) through here. File-system calls run in the thread pool,
never on the event loop (a slow disk or a large folder would stall every other request).
"""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
import uuid
from pathlib import Path
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, Response

from shipyard.exceptions import (
    ArtifactPathError,
    InvalidInput,
    PermissionDenied,
    RequestTooLarge,
    ResourceNotFound,
    ShipyardError,
)
from shipyard.registry.registration import STORAGE_DIR
from shipyard.server import artifact_proxy_store
from shipyard.server.context import INTERNAL_DIR, context_of
from shipyard.tracking.artifacts import confined, safe_relative_path
from shipyard.web import error_response, internal_error_response, json_response

PREFIX = "/api/2.0/mlflow-artifacts/artifacts"
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_ATTR_CHARS = "!#$&+-.^_`|~"


def _target(root: Path, relative: str) -> Path:
    if relative.split("/", 1)[0] == INTERNAL_DIR:
        raise ArtifactPathError(f"path {relative!r} is reserved for the server's own files")
    return confined(root, relative, what="path")


USER_FILE_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"}
"""NOTE: artifacts are the users' files (HTML too): never let one script this origin."""


def _not_internal(relative: str) -> str:
    if relative.split("/", 1)[0] == INTERNAL_DIR:
        raise ArtifactPathError(f"path {relative!r} is reserved for the server's own files")
    return relative


def _relative(raw: str) -> str:
    # NOTE: the router already %-decoded the path, so '..%2F' arrives here as '../'.
    return safe_relative_path(raw, what="path")


def _part_file(root: Path, relative: str, target: Path) -> Path:
    """Make the target's folder; the path of the temporary file to write first."""
    if target.is_dir():
        raise InvalidInput(f"path {relative!r} is a folder; upload to a file path under it")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:  # e.g. a file already sits where a folder is needed
        raise InvalidInput(f"path {relative!r} cannot be created: {error.strerror}") from None
    confined(root, relative, what="path")  # again, after mkdir
    # NOTE: not named after the target: a 255-byte name plus a suffix would pass NAME_MAX.
    return target.with_name(f".upload-{uuid.uuid4().hex}.part")


async def _receive(request: Request, tmp: Path, limit: int) -> None:
    """The body streamed into `tmp`, each chunk written from the thread pool."""
    out = await run_in_threadpool(tmp.open, "wb")
    try:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise RequestTooLarge(f"artifact is over the limit of {limit} bytes")
            await run_in_threadpool(out.write, chunk)
    finally:
        await run_in_threadpool(out.close)


def _discard(tmp: Path) -> None:
    tmp.unlink(missing_ok=True)


async def upload(request: Request) -> Response:
    try:
        relative = _relative(request.path_params["path"])
        if not relative:
            raise InvalidInput("path must name a file, got the artifact root")
        if relative.split("/", 1)[0] == STORAGE_DIR:
            raise PermissionDenied(f"{STORAGE_DIR}/ holds immutable registered versions; it cannot be written")
        _not_internal(relative)
        limit = context_of(request).settings.max_artifact_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise RequestTooLarge(f"artifact of {declared} bytes is over the limit of {limit} bytes")
        store = context_of(request).store
        if store is not None:
            return await artifact_proxy_store.upload(request, store, relative, limit)
        root = context_of(request).artifact_root
        target = await run_in_threadpool(_target, root, relative)
        tmp = await run_in_threadpool(_part_file, root, relative, target)
        try:
            await _receive(request, tmp, limit)
            await run_in_threadpool(os.replace, tmp, target)
        finally:
            await run_in_threadpool(_discard, tmp)
    except ClientDisconnect:  # the caller's doing: nothing was written, and there is no fault to log
        return error_response(InvalidInput("the client went away before the upload's body was complete"))
    except ShipyardError as error:
        return error_response(error)
    except Exception:  # noqa: BLE001 - our bug: logged under an error id, answered 500
        return internal_error_response(f"{request.method} {request.url.path}")
    return json_response({})


async def download_or_list(request: Request) -> Response:
    try:
        raw = request.path_params.get("path")
        store = context_of(request).store
        if store is not None:
            relative = _not_internal(_relative(raw if raw is not None else request.query_params.get("path", "")))
            if raw is None:
                return await run_in_threadpool(artifact_proxy_store.listing, store, relative)
            headers = {**USER_FILE_HEADERS, "Content-Disposition": content_disposition(relative.rsplit("/", 1)[-1])}
            return await run_in_threadpool(artifact_proxy_store.download_or_list, store, relative, headers)
        root = context_of(request).artifact_root
        if raw is None:
            return await run_in_threadpool(_list, root, _relative(request.query_params.get("path", "")))
        return await run_in_threadpool(_download_or_list, root, _relative(raw))
    except ShipyardError as error:
        return error_response(error)
    except Exception:  # noqa: BLE001 - our bug: logged under an error id, answered 500
        return internal_error_response(f"{request.method} {request.url.path}")


def _download_or_list(root: Path, relative: str) -> Response:
    target = _target(root, relative)
    if target.is_dir():
        return _list(root, relative)
    if not target.is_file():
        raise ResourceNotFound(f"artifact {relative!r} does not exist")
    headers = {**USER_FILE_HEADERS, "Content-Disposition": content_disposition(target.name)}
    return FileResponse(target, headers=headers)


def content_disposition(filename: str) -> str:
    """MLflow's `Content-Disposition` (RFC 6266 / 5987): a bare token when the name is one, else
    a quoted string; a non-ASCII name gets an ASCII fallback and a UTF-8 `filename*`."""
    if not filename.isascii():
        fallback = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode() or "download"
        return f"attachment; filename={_header_value(fallback)}; filename*=UTF-8''{quote(filename, safe=_ATTR_CHARS)}"
    return f"attachment; filename={_header_value(filename)}"


def _header_value(value: str) -> str:
    if _TOKEN.fullmatch(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _list(root: Path, relative: str) -> Response:
    target = _target(root, relative)
    files = []
    if target.is_dir():
        for child in sorted(target.iterdir()):
            if child.name.endswith(".part") or (not relative and child.name == INTERNAL_DIR):
                continue
            is_dir = child.is_dir()
            entry: dict[str, object] = {"path": child.name, "is_dir": is_dir}
            if not is_dir:
                entry["file_size"] = child.stat().st_size
            files.append(entry)
    elif target.is_file():
        files.append({"path": target.name, "is_dir": False, "file_size": target.stat().st_size})
    return json_response({"files": files} if files else {})


def _delete(root: Path, relative: str) -> None:
    target = _target(root, relative)
    if target.is_dir():
        shutil.rmtree(target)
    elif target.exists():
        target.unlink()


async def delete(request: Request) -> Response:
    try:
        relative = _relative(request.path_params["path"])
        if not relative or relative.split("/", 1)[0] == STORAGE_DIR:
            raise PermissionDenied(f"path {relative!r} cannot be deleted through the proxy")
        store = context_of(request).store
        if store is not None:
            await run_in_threadpool(artifact_proxy_store.delete, store, _not_internal(relative))
        else:
            await run_in_threadpool(_delete, context_of(request).artifact_root, relative)
    except ShipyardError as error:
        return error_response(error)
    return json_response({})


__all__ = ["PREFIX", "delete", "download_or_list", "upload"]
