"""Request bodies read with a bound: 413 as soon as a body passes the limit, never after reading
it all, whether the client declared a Content-Length or streams chunks without one.

`read_body` serves Starlette endpoints; `read_asgi_body` serves bare ASGI handlers (the serving
hot path skips Starlette's request object). Both raise `RequestTooLarge` with the same messages.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import Receive, Scope

from shipyard.exceptions import RequestTooLarge


class ClientGone(Exception):
    """The client disconnected before its body arrived: nothing to answer."""


def _declared_too_large(declared: str | bytes, limit: int) -> RequestTooLarge | None:
    if declared.isdigit() and int(declared) > limit:
        return RequestTooLarge(f"the body has {int(declared)} bytes; the limit is {limit} bytes")
    return None


def _over_limit(limit: int) -> RequestTooLarge:
    return RequestTooLarge(f"the body is over the limit of {limit} bytes")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) anything over `limit` bytes before reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if (refused := _declared_too_large(declared, limit)) is not None:
            raise refused
        # NOTE: the HTTP server holds the body to its Content-Length, so one read is bounded.
        body = await request.body()
        if len(body) > limit:
            raise _over_limit(limit)
        return body
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _over_limit(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_asgi_body(scope: Scope, receive: Receive, limit: int) -> tuple[bytes, str | None]:
    """(body, content type) of a bare ASGI request; refuses (413) a body over `limit` early."""
    content_type = None
    for key, value in scope["headers"]:
        if key == b"content-length":
            if (refused := _declared_too_large(value, limit)) is not None:
                raise refused
        elif key == b"content-type":
            content_type = value.decode("latin-1")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise _over_limit(limit)
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return (chunks[0] if len(chunks) == 1 else b"".join(chunks)), content_type


__all__ = ["ClientGone", "read_asgi_body", "read_body"]
