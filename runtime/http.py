"""HTTP plumbing shared by the endpoints: bounded body reads and error answers.

Every endpoint is wrapped by `guarded`: a ShipyardError becomes `{"error_code", "message"}` with
the status from `ERROR_CODE_TO_HTTP_STATUS`; anything else becomes a 500 with an error id and no
traceback (the traceback goes to the log under the same id). The server never dies of a request.
"""

from __future__ import annotations

import functools
import logging
import os
import traceback
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from shipyard.exceptions import RequestTooLarge, ShipyardError, TemporarilyUnavailable
from shipyard.runtime.scoring import dumps

logger = logging.getLogger("shipyard.runtime")

Endpoint = Callable[[Request], Awaitable[Response]]
RETRY_AFTER_SECONDS = "1"


def json_response(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def error_parts(exc: ShipyardError) -> tuple[int, bytes, dict[str, str] | None]:
    """(status, JSON body, extra headers) for a ShipyardError; 503s carry Retry-After."""
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if isinstance(exc, TemporarilyUnavailable) else None
    return exc.http_status, dumps(exc.to_dict()), headers


def internal_error_parts(where: str) -> tuple[int, bytes, None]:
    """Log the current exception's traceback under a fresh id; (500, body with that id only)."""
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
    return json_response(body, status, headers)


def internal_error_response(where: str) -> Response:
    status, body, headers = internal_error_parts(where)
    return json_response(body, status, headers)


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


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) anything over `limit` bytes before reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge(f"the body has {declared} bytes; the limit is {limit} bytes")
    if declared is not None:
        body = await request.body()
        if len(body) > limit:
            raise RequestTooLarge(f"the body is over the limit of {limit} bytes")
        return body
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge(f"the body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


__all__ = [
    "error_parts",
    "error_response",
    "guarded",
    "internal_error_parts",
    "internal_error_response",
    "json_response",
    "read_body",
]
