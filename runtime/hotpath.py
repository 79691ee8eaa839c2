"""The front door and `POST /invocations`, the hot path, as bare ASGI.

`FrontDoor` is the app's outermost router: a request whose (method, path) is one of the route
table's direct routes goes straight to its handler; every other request goes to Starlette. The
hot path so skips Starlette's routing, request, response and exception wrappers (about a quarter
of the per-request CPU at thousands of requests per second).

`Invocations` keeps the contract of every other endpoint: JSON errors from
`ERROR_CODE_TO_HTTP_STATUS`, 413 before the body is read past the limit, 500 with an error id and
no traceback; a large body is parsed off the event loop (`Workers.run_if_large`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from shipyard.exceptions import ShipyardError
from shipyard.runtime.model import ServedModel
from shipyard.runtime.scoring import parse_invocation, predictions_body
from shipyard.web import ClientGone, error_parts, internal_error_parts, read_asgi_body, send_json


def parse_and_prepare(served: ServedModel, body: bytes, content_type: str | None) -> tuple[Any, int, Any, bool]:
    """Parse one `/invocations` body and validate it against the signature:
    (prepared, rows, params, whole), `whole` for a chat-style body (run alone, answered unwrapped)."""
    parsed = parse_invocation(body, content_type, served.param_names())
    prepared, rows, params = served.prepare_request(parsed)
    return prepared, rows, params, parsed.whole


class Invocations:
    """The ASGI app for `POST /invocations` on one served model."""

    def __init__(self, served: ServedModel) -> None:
        self.served = served

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        served = self.served
        headers: dict[str, str] | None = None
        try:
            batcher = served.ready_batcher()
            body, content_type = await read_asgi_body(scope, receive, served.settings.max_body_bytes)
            prepared, rows, params, whole = await served.workers.run_if_large(
                len(body), parse_and_prepare, served, body, content_type
            )
            output = await batcher.submit(prepared, rows, params, timeout=served.settings.timeout, alone=whole)
            status, payload = 200, predictions_body(output, wrapped=not whole)
        except ClientGone:
            return
        except ShipyardError as exc:
            status, payload, headers = error_parts(exc)
        except Exception:
            status, payload, headers = internal_error_parts("POST /invocations")
        await send_json(send, status, payload, headers)


class FrontDoor:
    """Dispatch the direct routes by exact (method, path); everything else to `app`."""

    def __init__(self, app: ASGIApp, direct: Mapping[tuple[str, str], ASGIApp]) -> None:
        self.app = app
        self.direct = dict(direct)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            target = self.direct.get((scope["method"], scope["path"]))
            if target is not None:
                await target(scope, receive, send)
                return
        await self.app(scope, receive, send)


__all__ = ["FrontDoor", "Invocations", "parse_and_prepare"]
