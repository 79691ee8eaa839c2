"""The access log: one structured line and one metrics observation per request (pure ASGI, cheap).

It wraps the app and only watches: it routes nothing. The request id is the caller's
`X-Request-ID` when given, else a fresh one; it is echoed in the response's `X-Request-ID` header
so a client can quote it. Metrics are labelled with the route's template (`label`, from the route
table), never the raw path, so the number of series stays bounded.

Lines are JSON objects written to the stream (stderr) in one write per 50 ms rather than one per
request: at thousands of requests per second a write syscall and a logging record per line cost
more CPU than the request itself. The pending lines are written when the server's lifespan ends,
so no line is lost at shutdown.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import time
from collections.abc import Callable
from typing import TextIO

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shipyard.runtime.metrics import ServeMetrics

FLUSH_SECONDS = 0.05
LIFESPAN_ENDS = frozenset({"lifespan.shutdown.complete", "lifespan.shutdown.failed"})


class AccessLog:
    """ASGI middleware: times each request, tags it with a request id, logs and counts it."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: ServeMetrics,
        label: Callable[[str], str],
        *,
        enabled: bool = True,
        stream: TextIO | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.label = label
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self._id_prefix = os.urandom(4).hex()
        self._ids = itertools.count(1)
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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._flushing_at_end(send))
            return
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

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            duration = time.monotonic() - start
            path = scope["path"]
            self.metrics.observe_request(scope["method"], self.label(path), status, duration)
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

    def _flushing_at_end(self, send: Send) -> Send:
        """The lifespan's `send`, writing the pending lines once the app has shut down."""

        async def send_then_flush(message: Message) -> None:
            if message["type"] in LIFESPAN_ENDS:
                self.flush()
            await send(message)

        return send_then_flush


__all__ = ["AccessLog"]
