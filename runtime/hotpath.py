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

from collections.abc import Callable, Mapping
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from shipyard.exceptions import ShipyardError
from shipyard.runtime.deadlines import header_values, request_timeout
from shipyard.runtime.identity import ModelIdentity
from shipyard.runtime.loaded import LoadedVersion
from shipyard.runtime.model import ServedModel
from shipyard.runtime.scoring import parse_invocation, predictions_body
from shipyard.web import ClientGone, error_parts, internal_error_parts, read_asgi_body, send_json


def parse_and_prepare(served: LoadedVersion, body: bytes, content_type: str | None) -> tuple[Any, int, Any, bool]:
    """Parse one `/invocations` body and validate it against the signature:
    (prepared, rows, params, whole), `whole` for a chat-style body (run alone, answered unwrapped)."""
    parsed = parse_invocation(body, content_type, served.param_names())
    prepared, rows, params = served.prepare_request(parsed)
    return prepared, rows, params, parsed.whole


async def answer_body(
    served: ServedModel, version: LoadedVersion, body: bytes, content_type: str | None, timeout: float
) -> bytes:
    """The `/invocations` answer of `version` to one body (the caller's, or a shadow's copy of it)."""
    prepared, rows, params, whole = await served.workers.run_if_large(
        len(body), parse_and_prepare, version, body, content_type
    )
    # NOTE: zero rows answer `[]` on every flavor, without calling the model (which
    # would raise, or answer in its own shape: docs/mlflow-differences.md).
    output = (
        []
        if rows == 0 and not whole
        else await version.batcher.submit(prepared, rows, params, timeout=timeout, alone=whole)
    )
    return predictions_body(output, wrapped=not whole)


AfterAnswer = Callable[[ModelIdentity, bytes, "str | None", int, bytes], None]
"""Called once the caller has its answer: (answering version, request body, content type, status,
answer body); a shadow's copy starts here (`runtime/shadow.py`)."""

VERSION_HEADER = "X-Shipyard-Model-Version"
"""The answering version, on the answers of a traffic split's routes."""


class Invocations:
    """The ASGI app for `POST /invocations` on one served model.

    `tag_version`: name the answering version in `X-Shipyard-Model-Version` (a split's routes);
    `after`: see `AfterAnswer`. Both off for a plain model, whose path stays as it was."""

    def __init__(self, served: ServedModel, *, tag_version: bool = False, after: AfterAnswer | None = None) -> None:
        self.served = served
        self.tag_version = tag_version
        self.after = after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        served = self.served
        headers: dict[str, str] | None = None
        answered: ModelIdentity | None = None
        body: bytes | None = None
        content_type: str | None = None
        try:
            # NOTE: one version start to end: a registry swap meanwhile does not mix two models.
            with served.lease() as version:
                answered = version.identity
                timeout = request_timeout(header_values(scope["headers"]), served.settings.timeout)
                body, content_type = await read_asgi_body(scope, receive, served.settings.max_body_bytes)
                status, payload = 200, await answer_body(served, version, body, content_type, timeout)
        except ClientGone:
            return
        except ShipyardError as exc:
            status, payload, headers = error_parts(exc)
        except Exception:
            status, payload, headers = internal_error_parts("POST /invocations")
        if self.tag_version and answered is not None:
            headers = {**(headers or {}), VERSION_HEADER: answered.version or ""}
        await send_json(send, status, payload, headers)
        if self.after is not None and answered is not None and body is not None:
            self.after(answered, body, content_type, status, payload)


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


__all__ = ["VERSION_HEADER", "AfterAnswer", "FrontDoor", "Invocations", "answer_body", "parse_and_prepare"]
