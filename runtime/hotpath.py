"""`POST /invocations` as a bare ASGI handler: the hot path skips Starlette's request, response and
exception wrappers (about a quarter of the per-request CPU at thousands of requests per second).

It keeps the contract of every other endpoint: JSON errors from `ERROR_CODE_TO_HTTP_STATUS`,
413 before the body is read past the limit, 500 with an error id and no traceback.
"""

from __future__ import annotations

from typing import Any

from shipyard.exceptions import RequestTooLarge, ShipyardError, TemporarilyUnavailable
from shipyard.runtime.http import error_parts, internal_error_parts
from shipyard.runtime.model import ServedModel
from shipyard.runtime.scoring import parse_invocation, predictions_body

OFFLOAD_BYTES = 256 * 1024
"""Bodies larger than this are parsed and validated in a worker thread, not on the event loop."""

JSON_TYPE = (b"content-type", b"application/json")


class ClientGone(Exception):
    """The client disconnected before its body arrived: nothing to answer."""


def parse_and_prepare(served: ServedModel, body: bytes, content_type: str | None) -> tuple[Any, int, Any]:
    parsed = parse_invocation(body, content_type)
    return served.prepare(parsed.data, parsed.params)


async def read_asgi_body(scope: dict[str, Any], receive: Any, limit: int) -> tuple[bytes, str | None]:
    """(body, content type); refuses (413) a body over `limit` before reading it all."""
    content_type = None
    for key, value in scope["headers"]:
        if key == b"content-length":
            if value.isdigit() and int(value) > limit:
                raise RequestTooLarge(f"the body has {int(value)} bytes; the limit is {limit} bytes")
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
                raise RequestTooLarge(f"the body is over the limit of {limit} bytes")
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return (chunks[0] if len(chunks) == 1 else b"".join(chunks)), content_type


class Invocations:
    """The ASGI app for `POST /invocations` on one served model."""

    def __init__(self, served: ServedModel) -> None:
        self.served = served

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        served = self.served
        headers: dict[str, str] | None = None
        try:
            if not served.ready or served.batcher is None:
                raise TemporarilyUnavailable(served.reason)
            body, content_type = await read_asgi_body(scope, receive, served.settings.max_body_bytes)
            if len(body) > OFFLOAD_BYTES:
                prepared, rows, params = await served.workers.run(parse_and_prepare, served, body, content_type)
            else:
                prepared, rows, params = parse_and_prepare(served, body, content_type)
            output = await served.batcher.submit(prepared, rows, params, timeout=served.settings.timeout)
            status, payload = 200, predictions_body(output)
        except ClientGone:
            return
        except ShipyardError as exc:
            status, payload, headers = error_parts(exc)
        except Exception:
            status, payload, headers = internal_error_parts("POST /invocations")
        response_headers = [JSON_TYPE, (b"content-length", str(len(payload)).encode())]
        if headers:
            response_headers.extend((k.lower().encode(), v.encode()) for k, v in headers.items())
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": payload})


__all__ = ["Invocations", "OFFLOAD_BYTES", "parse_and_prepare", "read_asgi_body"]
