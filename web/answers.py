"""JSON answers for both servers: one serializer, one error shape, one rule for the unexpected.

A ShipyardError becomes `{"error_code", "message"}` with the status from
`ERROR_CODE_TO_HTTP_STATUS` (a 503 carries Retry-After). Anything else is our bug: the client
gets a 500 whose body names only a fresh error id, and the traceback goes to the log under that
id, so an operator can find it and the client never sees a traceback. A server never dies of a
request.
"""

from __future__ import annotations

import functools
import logging
import os
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Send

from shipyard.exceptions import ShipyardError, TemporarilyUnavailable

logger = logging.getLogger("shipyard.web")

Endpoint = Callable[[Request], Awaitable[Response]]
Headers = dict[str, str]
RETRY_AFTER_SECONDS = "1"
JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def _default(obj: Any) -> Any:
    # NOTE: duck-typed so that this module needs no numpy: arrays and numpy scalars have
    # `tolist` (a scalar's is its `item`), dates and timestamps `isoformat`.
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"cannot serialize a {type(obj).__name__} as JSON")


def dumps(obj: object) -> bytes:
    """orjson with numpy support; NaN becomes null (MLflow writes a bare NaN, which is not JSON)."""
    return orjson.dumps(obj, default=_default, option=JSON_OPTIONS)


def json_bytes_response(body: bytes, status: int = 200, headers: Headers | None = None) -> Response:
    """An already-serialized JSON body as a response."""
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def json_response(payload: object, status: int = 200, headers: Headers | None = None) -> Response:
    return json_bytes_response(dumps(payload), status, headers)


async def send_json(send: Send, status: int, body: bytes, headers: Headers | None = None) -> None:
    """An already-serialized JSON answer over bare ASGI (handlers that skip Starlette's Response)."""
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if headers:
        raw.extend((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items())
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def error_parts(exc: ShipyardError) -> tuple[int, bytes, Headers | None]:
    """(status, JSON body, extra headers) for a ShipyardError; 503s carry Retry-After."""
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if isinstance(exc, TemporarilyUnavailable) else None
    return exc.http_status, dumps(exc.to_dict()), headers


def internal_error_parts(where: str) -> tuple[int, bytes, None]:
    """Log the current exception's traceback under a fresh id; (500, a body naming that id only)."""
    error_id = os.urandom(8).hex()
    logger.error("unexpected error in %s, error id %s\n%s", where, error_id, traceback.format_exc())
    body = {
        "error_code": "INTERNAL_ERROR",
        "message": f"internal server error; the server log has the details under error id {error_id}",
        "error_id": error_id,
    }
    return 500, dumps(body), None


def error_response(exc: ShipyardError) -> Response:
    status, body, headers = error_parts(exc)
    return json_bytes_response(body, status, headers)


def internal_error_response(where: str) -> Response:
    """Call inside an `except` block: the 500 answer for the exception being handled."""
    status, body, headers = internal_error_parts(where)
    return json_bytes_response(body, status, headers)


def guarded(endpoint: Endpoint) -> Endpoint:
    """Turn every exception of an endpoint into a JSON error answer."""

    @functools.wraps(endpoint)
    async def wrapper(request: Request) -> Response:
        try:
            return await endpoint(request)
        except ShipyardError as exc:
            return error_response(exc)
        except Exception:
            return internal_error_response(f"{request.method} {request.url.path}")

    return wrapper


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (unknown path, wrong method) answered as JSON like every other."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    headers = exc.headers if isinstance(exc, HTTPException) else None  # 405 keeps its Allow header
    if status == 404:
        body = {"error_code": "ENDPOINT_NOT_FOUND", "message": f"no route {request.method} {request.url.path!r}"}
    elif status == 405:
        body = {"error_code": "BAD_REQUEST", "message": f"{request.method} is not allowed on {request.url.path!r}"}
    else:
        detail = exc.detail if isinstance(exc, HTTPException) else "internal server error"
        body = {"error_code": "BAD_REQUEST" if status < 500 else "INTERNAL_ERROR", "message": str(detail)}
    return json_response(body, status, dict(headers) if headers else None)


__all__ = [
    "Endpoint",
    "dumps",
    "error_parts",
    "error_response",
    "guarded",
    "http_error",
    "internal_error_parts",
    "internal_error_response",
    "json_bytes_response",
    "json_response",
    "send_json",
]
