"""The artifact proxy in front of an object store (`--artifacts-destination s3://...`).

Uploads: the body is streamed to a spool file on the server's disk (chunk by chunk, from the
thread pool) and, on a store with multipart parts (S3), each part goes to the store as soon as it
is complete on disk, while the rest of the body still arrives (`tracking/streamed_upload.py`);
a failure or a client that goes away aborts the multipart upload, so nothing half-written shows.
The spool file is removed whatever happens. Downloads: the object's bytes are streamed from the
store to the client in parts as they arrive. The server never holds a whole file in memory.
NOTE: the parts are read back from the spool file, not piped from the body: a failed part is
retried from the file, and the body is never stalled by S3's round-trips.
"""

from __future__ import annotations

import posixpath
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse

from shipyard.exceptions import InvalidInput, RequestTooLarge, ResourceNotFound
from shipyard.server.context import INTERNAL_DIR
from shipyard.tracking.artifact_transfer import ObjectStoreRepository
from shipyard.web import json_response

SPOOL_PREFIX = "shipyard-upload-"
WRITE_BYTES = 1024 * 1024


def _spool_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix=SPOOL_PREFIX))


async def upload(request: Request, store: ObjectStoreRepository, relative: str, limit: int) -> Response:
    spool = await run_in_threadpool(_spool_dir)
    try:
        streamed = await run_in_threadpool(store.streamed_upload, relative, spool / posixpath.basename(relative), limit)
        try:
            size, pending = 0, bytearray()
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise RequestTooLarge(f"artifact is over the limit of {limit} bytes")
                pending += chunk
                if len(pending) >= WRITE_BYTES:  # NOTE: one thread hop per MiB, not per 64 KiB chunk
                    await run_in_threadpool(streamed.write, pending)  # awaited: no copy needed
                    pending.clear()
            await run_in_threadpool(streamed.write, pending)
            await run_in_threadpool(streamed.finish)
        except BaseException as error:
            with anyio.CancelScope(shield=True):  # NOTE: a cancelled request still aborts its upload
                await run_in_threadpool(streamed.abort)
            if isinstance(error, ClientDisconnect):  # the caller's doing, not a server fault to log
                raise InvalidInput(f"the client went away before the body of {relative!r} was complete") from None
            raise
    finally:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(shutil.rmtree, spool, True)
    return json_response({})


def listing(store: ObjectStoreRepository, relative: str) -> Response:
    files: list[dict[str, object]] = []
    for info in store.list_artifacts(relative or None):
        name = posixpath.basename(info.path)
        if not relative and name == INTERNAL_DIR:
            continue
        entry: dict[str, object] = {"path": name, "is_dir": info.is_dir}
        if info.file_size is not None:
            entry["file_size"] = info.file_size
        files.append(entry)
    size = store.file_size(relative) if not files and relative else None
    if size is not None:
        files.append({"path": posixpath.basename(relative), "is_dir": False, "file_size": size})
    return json_response({"files": files} if files else {})


def download_or_list(store: ObjectStoreRepository, relative: str, headers: dict[str, str]) -> Response:
    """A file streams from the store; a folder (or nothing) answers its listing, as locally."""
    if store.file_size(relative) is None:
        answer = listing(store, relative)
        if relative and answer.body == b"{}":
            raise ResourceNotFound(f"artifact {relative!r} does not exist")
        return answer
    size, chunks = store.open_chunks(relative)
    return StreamingResponse(
        _async(chunks),
        media_type="application/octet-stream",
        headers={**headers, "Content-Length": str(size)},
    )


async def _async(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    async for chunk in iterate_in_threadpool(chunks):
        yield chunk


def delete(store: ObjectStoreRepository, relative: str) -> None:
    store.delete_artifacts(relative)


__all__ = ["delete", "download_or_list", "listing", "upload"]
