"""`/api/2.0/mlflow-artifacts/artifacts/<path>`: the artifact proxy (upload, download, list).

Bodies stream in and out in chunks; an upload goes to a temporary file beside its target and
is renamed into place only when complete, so a cut-off or oversized upload leaves nothing.
Every path is confined to the artifact root; the server's own folder and the immutable
version storage are read-only (or hidden) through here.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from starlette.requests import Request
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
from shipyard.server.context import INTERNAL_DIR, context_of
from shipyard.server.protocol import error_response, internal_error_response, json_response
from shipyard.tracking.artifacts import confined, safe_relative_path

PREFIX = "/api/2.0/mlflow-artifacts/artifacts"


def _target(request: Request, relative: str) -> Path:
    if relative.split("/", 1)[0] == INTERNAL_DIR:
        raise ArtifactPathError(f"path {relative!r} is reserved for the server's own files")
    return confined(context_of(request).artifact_root, relative, what="path")


def _relative(raw: str) -> str:
    # NOTE: the router already %-decoded the path, so '..%2F' arrives here as '../'.
    return safe_relative_path(raw, what="path")


async def upload(request: Request) -> Response:
    try:
        relative = _relative(request.path_params["path"])
        if not relative:
            raise InvalidInput("path must name a file, got the artifact root")
        if relative.split("/", 1)[0] == STORAGE_DIR:
            raise PermissionDenied(f"{STORAGE_DIR}/ holds immutable registered versions; it cannot be written")
        target = _target(request, relative)
        limit = context_of(request).settings.max_artifact_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise RequestTooLarge(f"artifact of {declared} bytes is over the limit of {limit} bytes")
        if target.is_dir():
            raise InvalidInput(f"path {relative!r} is a folder; upload to a file path under it")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:  # e.g. a file already sits where a folder is needed
            raise InvalidInput(f"path {relative!r} cannot be created: {error.strerror}") from None
        confined(context_of(request).artifact_root, relative, what="path")  # again, after mkdir
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.part")
        size = 0
        try:
            with open(tmp, "wb") as out:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > limit:
                        raise RequestTooLarge(f"artifact is over the limit of {limit} bytes")
                    out.write(chunk)
            os.replace(tmp, target)
        finally:
            if tmp.exists():
                tmp.unlink()
    except ShipyardError as error:
        return error_response(error)
    except Exception as error:  # noqa: BLE001 - our bug: log it, answer 500
        return internal_error_response(error)
    return json_response({})


async def download_or_list(request: Request) -> Response:
    try:
        raw = request.path_params.get("path")
        if raw is None:
            return _list(request, _relative(request.query_params.get("path", "")))
        relative = _relative(raw)
        target = _target(request, relative)
        if target.is_dir():
            return _list(request, relative)
        if not target.is_file():
            raise ResourceNotFound(f"artifact {relative!r} does not exist")
        # NOTE: artifacts are the users' files (HTML too): never let one script this origin.
        return FileResponse(target, headers={"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"})
    except ShipyardError as error:
        return error_response(error)
    except Exception as error:  # noqa: BLE001 - our bug: log it, answer 500
        return internal_error_response(error)


def _list(request: Request, relative: str) -> Response:
    target = _target(request, relative)
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


async def delete(request: Request) -> Response:
    try:
        relative = _relative(request.path_params["path"])
        if not relative or relative.split("/", 1)[0] == STORAGE_DIR:
            raise PermissionDenied(f"path {relative!r} cannot be deleted through the proxy")
        target = _target(request, relative)
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    except ShipyardError as error:
        return error_response(error)
    return json_response({})


__all__ = ["PREFIX", "delete", "download_or_list", "upload"]
