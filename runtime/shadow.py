"""Shadow traffic: a copy of every request of one name goes to a shadow version after the primary
has answered the caller, and only the metrics hear how it went.

The copy starts once the primary's answer is sent (`hotpath.AfterAnswer`), as a task of its own:
it never delays the caller, and whatever the shadow does (raise, time out, answer 503) never
changes the caller's answer or status. Each copy counts its outcome and latency; on a request the
primary answered with 200, it also counts the shadow's predictions and those that differ from the
primary's (disagreement = differing / rows), all labelled by the shadow's and the primary's version.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import orjson

from shipyard.exceptions import ShipyardError
from shipyard.runtime.hotpath import answer_body
from shipyard.runtime.identity import ModelIdentity
from shipyard.runtime.metrics import ServeMetrics
from shipyard.runtime.model import ServedModel

logger = logging.getLogger("shipyard.runtime")


def disagreement(primary: bytes, shadow: bytes) -> tuple[int, int]:
    """(rows, differing rows) of two `/invocations` answers: predictions compared row by row, as
    the JSON the caller reads (so 1 and 1.0 agree); a prediction that is not a list is one row."""
    first, second = _predictions(primary), _predictions(shadow)
    if not isinstance(first, list) or not isinstance(second, list):
        return 1, int(first != second)
    rows = max(len(first), len(second))
    same = sum(1 for a, b in zip(first, second, strict=False) if a == b)
    return rows, rows - same


def _predictions(answer: bytes) -> Any:
    document = orjson.loads(answer)
    return document["predictions"] if isinstance(document, dict) and "predictions" in document else document


class Shadow:
    """The shadow of one name: sends it the copies and counts what happened to them.

    NOTE: at most `limit` copies run at once (the shadow's `--max-queue`); past it a copy is
    skipped and counted as `skipped`, so a slow shadow never piles up tasks or memory."""

    def __init__(self, served: ServedModel, metrics: ServeMetrics) -> None:
        self.served = served
        self.metrics = metrics
        self.limit = served.settings.max_queue
        self._tasks: set[asyncio.Task[None]] = set()

    def after(self, primary: ModelIdentity, body: bytes, content_type: str | None, status: int, answer: bytes) -> None:
        """`hotpath.AfterAnswer`: start the copy of one answered request."""
        if len(self._tasks) >= self.limit:
            self.metrics.observe_shadow(self._labels(primary), "skipped")
            return
        task = asyncio.get_running_loop().create_task(self.copy(primary, body, content_type, status, answer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _labels(self, primary: ModelIdentity, shadow: ModelIdentity | None = None) -> tuple[str, str, str]:
        answering = shadow or self.served.identity
        return (primary.name, answering.version or "", primary.version or "")

    async def copy(
        self, primary: ModelIdentity, body: bytes, content_type: str | None, status: int, answer: bytes
    ) -> None:
        """Run one copy on the shadow; never raises (but for cancellation)."""
        started = time.perf_counter()
        shadow: ModelIdentity | None = None
        try:
            with self.served.lease() as version:
                shadow = version.identity
                mirrored = await answer_body(self.served, version, body, content_type, self.served.settings.timeout)
        except ShipyardError as exc:
            self._failed(primary, shadow, exc.error_code, started, exc)
            return
        except Exception as exc:  # NOTE: a broken shadow must never reach the caller or the loop
            self._failed(primary, shadow, "INTERNAL_ERROR", started, exc)
            return
        labels = self._labels(primary, shadow)
        self.metrics.observe_shadow(labels, "ok", time.perf_counter() - started)
        if status == 200:
            self.metrics.observe_disagreement(labels, *disagreement(answer, mirrored))

    def _failed(
        self, primary: ModelIdentity, shadow: ModelIdentity | None, code: str, started: float, exc: Exception
    ) -> None:
        logger.warning("shadow of model %r failed (%s): %s", primary.name, code, exc)
        self.metrics.observe_shadow(self._labels(primary, shadow), code, time.perf_counter() - started)

    def to_dict(self) -> dict[str, object]:
        """What /version says about the shadow."""
        return {"model": self.served.identity.to_dict(), "state": self.served.state, "in_flight": len(self._tasks)}

    async def close(self) -> None:
        """Shutdown: copies still running are dropped (they answer nobody)."""
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


__all__ = ["Shadow", "disagreement"]
