"""One structured access-log line and one metrics observation per request (pure ASGI, cheap).

The request id is the caller's `X-Request-ID` when given, else a fresh one; it is echoed in the
response's `X-Request-ID` header so a client can quote it.

Lines are JSON objects written to the stream (stderr) in one write per 50 ms rather than one per
request: at thousands of requests per second a write syscall and a logging record per line cost
more CPU than the request itself. `flush()` runs at shutdown, so no line is lost.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import time
from typing import Any, TextIO

import orjson

from shipyard.runtime.metrics import ServeMetrics

ASGIApp = Any
FLUSH_SECONDS = 0.05

ROUTES = frozenset(
    {
        "/invocations",
        "/ping",
        "/health",
        "/version",
        "/metrics",
        "/openapi.json",
        "/v2",
        "/v2/health/live",
        "/v2/health/ready",
    }
)


def route_of(path: str) -> str:
    """A bounded label for the path (model names inside /v2 paths become `{name}`)."""
    if path in ROUTES:
        return path
    if path.startswith("/v2/models/"):
        tail = path.rsplit("/", 1)[-1]
        return "/v2/models/{name}/" + tail if tail in ("infer", "ready") else "/v2/models/{name}"
    return "other"


class AccessLog:
    """Wraps the app: times each request, tags it with a request id, logs and counts it."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: ServeMetrics,
        *,
        enabled: bool = True,
        stream: TextIO | None = None,
        direct: dict[tuple[str, str], ASGIApp] | None = None,
    ) -> None:
        self.app = app
        self.direct = direct or {}
        """(method, path) -> ASGI app called without the framework's routing (the hot path)."""
        self._id_prefix = os.urandom(4).hex()
        self._ids = itertools.count(1)
        self.metrics = metrics
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self._pending: list[bytes] = []
        self._flush_scheduled = False

    def flush(self) -> None:
        """Write every pending line now."""
        self._flush_scheduled = False
        if self._pending:
            lines, self._pending = self._pending, []
            self.stream.write(b"".join(lines).decode())
            self.stream.flush()

    def _log(self, line: bytes) -> None:
        self._pending.append(line)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_later(FLUSH_SECONDS, self.flush)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.monotonic()
        request_id = None
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                request_id = value[:64]
                break
        if request_id is None:  # unique per process start; no syscall per request
            request_id = f"{self._id_prefix}-{next(self._ids):x}".encode()
        status = 500

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id)]
            await send(message)

        target = self.direct.get((scope["method"], scope["path"]), self.app)
        try:
            await target(scope, receive, send_with_id)
        finally:
            duration = time.monotonic() - start
            path = scope["path"]
            self.metrics.observe_request(scope["method"], route_of(path), status, duration)
            if self.enabled:
                self._log(
                    orjson.dumps(
                        {
                            "method": scope["method"],
                            "path": path,
                            "status": status,
                            "duration_ms": round(duration * 1000.0, 3),
                            "request_id": request_id.decode("latin-1"),
                        },
                        option=orjson.OPT_APPEND_NEWLINE,
                    )
                )


__all__ = ["AccessLog", "route_of"]
