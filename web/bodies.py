"""Request bodies read with a bound: 413 as soon as a body passes the limit, never after reading
it all, whether the client declared a Content-Length or streams chunks without one.

`read_body` serves Starlette endpoints; `read_asgi_body` serves bare ASGI handlers (the serving
hot path skips Starlette's request object). Both raise `RequestTooLarge` with the same messages,
and both decompress a `Content-Encoding: gzip` or `deflate` body with the limit applied to the
decompressed size (a zip bomb is a 413); another encoding is a 415.
"""

from __future__ import annotations

import zlib

from starlette.requests import Request
from starlette.types import Receive, Scope

from shipyard.exceptions import RequestTooLarge, SchemaEnforcementError, UnsupportedMediaType

ENCODINGS = ("gzip", "x-gzip", "deflate", "identity")
"""`Content-Encoding`s a body may come in; any other is 415."""


class ClientGone(Exception):
    """The client disconnected before its body arrived: nothing to answer."""


def _declared_too_large(declared: str | bytes, limit: int) -> RequestTooLarge | None:
    if declared.isdigit() and int(declared) > limit:
        return RequestTooLarge(f"the body has {int(declared)} bytes; the limit is {limit} bytes")
    return None


def _over_limit(limit: int) -> RequestTooLarge:
    return RequestTooLarge(f"the body is over the limit of {limit} bytes")


def check_encoding(encoding: str | None) -> str:
    """The body's `Content-Encoding`, lower-cased ("identity" when none); 415 for another one."""
    if encoding is None:
        return "identity"
    name = encoding.strip().lower()
    if name not in ENCODINGS:
        raise UnsupportedMediaType(
            f"Content-Encoding {encoding.strip()!r} is not supported; send gzip, deflate or no encoding"
        )
    return name


def decode_body(body: bytes, encoding: str, limit: int) -> bytes:
    """A gzip or deflate body decompressed, refusing (413) output past `limit` bytes as soon as
    it gets there (a small bomb never inflates in memory); 400 for data that is not the encoding."""
    if encoding == "identity":
        return body
    gzip = encoding in ("gzip", "x-gzip")
    out: list[bytes] = []
    size = 0
    rest = body
    while True:
        # NOTE: deflate is zlib-wrapped by the RFC, but some clients send raw deflate (wbits -15).
        zlib_header = len(rest) > 1 and (rest[0] & 0x0F) == 8 and (rest[0] * 256 + rest[1]) % 31 == 0
        wbits = 31 if gzip else (15 if zlib_header else -15)
        inflater = zlib.decompressobj(wbits)
        try:
            while rest:
                chunk = inflater.decompress(rest, limit + 1 - size)
                size += len(chunk)
                if size > limit:
                    raise RequestTooLarge(f"the body is over the limit of {limit} bytes once decompressed ({encoding})")
                out.append(chunk)
                rest = inflater.unconsumed_tail
                if inflater.eof:
                    break
        except zlib.error as exc:
            raise SchemaEnforcementError(
                f"Content-Encoding {encoding}: the body is not valid {encoding} data ({exc})"
            ) from None
        if not inflater.eof:
            raise SchemaEnforcementError(f"Content-Encoding {encoding}: the body is truncated {encoding} data")
        rest = inflater.unused_data
        if not (gzip and rest):  # NOTE: a gzip body may hold several members, one after another
            break
    return b"".join(out)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) anything over `limit` bytes before reading it all, and
    decompressed when it declares gzip or deflate (the limit then bounds the decompressed size)."""
    encoding = check_encoding(request.headers.get("content-encoding"))
    declared = request.headers.get("content-length")
    if declared is not None:
        if (refused := _declared_too_large(declared, limit)) is not None:
            raise refused
        # NOTE: the HTTP server holds the body to its Content-Length, so one read is bounded.
        body = await request.body()
        if len(body) > limit:
            raise _over_limit(limit)
        return decode_body(body, encoding, limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _over_limit(limit)
        chunks.append(chunk)
    return decode_body(b"".join(chunks), encoding, limit)


async def read_asgi_body(scope: Scope, receive: Receive, limit: int) -> tuple[bytes, str | None]:
    """(body, content type) of a bare ASGI request; refuses (413) a body over `limit` early."""
    content_type = None
    encoding = "identity"
    for key, value in scope["headers"]:
        if key == b"content-length":
            if (refused := _declared_too_large(value, limit)) is not None:
                raise refused
        elif key == b"content-type":
            content_type = value.decode("latin-1")
        elif key == b"content-encoding":
            encoding = check_encoding(value.decode("latin-1"))
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
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    return decode_body(body, encoding, limit), content_type


__all__ = ["ENCODINGS", "ClientGone", "check_encoding", "decode_body", "read_asgi_body", "read_body"]
