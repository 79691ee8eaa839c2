"""Dynamic batching: concurrent requests to one model become one predict call.

How a batch forms: a dispatcher task takes the oldest waiting request and every request queued
behind it with the same params, while their rows fit in `max_batch_size`. When nothing else is
queued it runs at once: batching never adds delay at low load. Under load, requests pile up while
the previous batch predicts, so batches grow by themselves; `max_batch_delay` (default 0) only
adds an extra wait for more rows when others are already queued. A request with more rows than
`max_batch_size` runs alone; a non-batchable model runs request by request, and so does a
request submitted with `alone=True` (a chat-style body: one whole input, not rows).

Bounds: a request is refused with TemporarilyUnavailable (503 + Retry-After) when `max_queue`
requests already wait, or when it would wait longer than `max_queue_delay`: the oldest waiting
request has waited that long already, or the queue holds more than the measured throughput clears
in that time. So overload sheds at once instead of queueing for seconds. A request that waits past
its timeout gets DeadlineExceeded and is dropped from the queue.
Time comes from a monotonic clock. A batch that fails delivers the failure to every request in it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from shipyard.exceptions import (
    DeadlineExceeded,
    PredictionFailed,
    ShipyardError,
    TemporarilyUnavailable,
)
from shipyard.runtime.rows import concat_rows, split_rows

logger = logging.getLogger("shipyard.runtime.batcher")

AUTO_QUEUE_DELAY_MIN = 0.5
"""Seconds: the least wait "auto" allows, so jitter (a busy machine, a new version loading beside
the old one during a registry swap) does not shed."""

PredictFn = Callable[[Any, "dict[str, Any] | None"], Any]
StartFn = Callable[..., "asyncio.Future[Any]"]
"""Starts `fn(*args)` in a worker thread and returns its future at once (Workers.start)."""


@dataclass(slots=True, eq=False)
class _Item:
    data: Any
    rows: int
    params: dict[str, Any] | None
    params_key: Any
    future: asyncio.Future[Any]
    enqueued: float
    alone: bool = False
    timer: asyncio.TimerHandle | None = field(default=None)


class Batcher:
    """Wraps a blocking `predict(data, params)`; `await submit(...)` returns this request's rows.

    Dispatch is callback-driven, with no dispatcher task: `submit` starts a batch at once when a
    predict slot is free, and each finished batch starts the next one from the queue. That keeps
    the idle path to one hop into the worker thread and one back.
    """

    def __init__(
        self,
        predict: PredictFn,
        *,
        start_work: StartFn,
        max_batch_size: int,
        max_batch_delay: float = 0.0,
        max_queue: int = 512,
        max_queue_delay: float | Literal["auto"] | None = None,
        max_concurrency: int = 1,
        batchable: bool = True,
        clock: Callable[[], float] = time.monotonic,
        on_batch: Callable[[int, int], None] | None = None,
    ) -> None:
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be >= 1, got {max_batch_size}")
        if max_batch_delay < 0:
            raise ValueError(f"max_batch_delay must be >= 0 seconds, got {max_batch_delay}")
        if max_queue < 1:
            raise ValueError(f"max_queue must be >= 1, got {max_queue}")
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        if isinstance(max_queue_delay, float | int) and max_queue_delay <= 0:
            raise ValueError(f"max_queue_delay must be > 0 seconds, got {max_queue_delay}")
        self._predict = predict
        self._start_work = start_work
        self.max_batch_size = max_batch_size
        self.max_batch_delay = max_batch_delay
        self.max_queue = max_queue
        self.max_queue_delay = max_queue_delay
        self.max_concurrency = max_concurrency
        self.batchable = batchable
        self._clock = clock
        self._on_batch = on_batch
        self._queue: deque[_Item] = deque()
        self._running = 0
        self._held: list[_Item] | None = None  # a batch waiting out max_batch_delay
        self._idle: asyncio.Event | None = None
        self._closing = False
        self._batch_time = _BatchTime()
        self._queued_rows = 0

    # -- public -------------------------------------------------------------------------------
    @property
    def queue_depth(self) -> int:
        return len(self._queue)

    async def submit(
        self, data: Any, rows: int, params: dict[str, Any] | None = None, *, timeout: float, alone: bool = False
    ) -> Any:
        """Queue one request's prepared rows; returns its slice of the model output (the whole
        output, unsplit, for `alone=True`: such a request never shares a predict call)."""
        if self._closing:
            raise TemporarilyUnavailable("the server is shutting down; retry on another replica")
        if len(self._queue) >= self.max_queue:
            raise TemporarilyUnavailable(
                f"the prediction queue is full ({self.max_queue} requests waiting); retry later"
            )
        if self.max_queue_delay is not None and self._queue:
            self._admit(timeout)
        if rows < 0:
            raise ValueError(f"rows must be >= 0, got {rows}")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        key = None if not params else _params_key(params)
        item = _Item(data, rows, params, key, future, self._clock(), alone)
        item.timer = loop.call_later(timeout, _expire, future, timeout)
        self._queue.append(item)
        self._queued_rows += rows
        self._pump()
        try:
            return await future
        finally:
            item.timer.cancel()

    async def close(self) -> None:
        """Refuse new requests; return once queued and running batches have finished."""
        self._closing = True
        while self._queue or self._running or self._held is not None:
            self._idle = asyncio.Event()
            self._pump()
            await self._idle.wait()

    def queue_delay_limit(self, timeout: float) -> float:
        """Seconds a request may wait for predict: `max_queue_delay`, or with "auto" four batches
        at the measured batch time (at least AUTO_QUEUE_DELAY_MIN), at most half the timeout."""
        if isinstance(self.max_queue_delay, float | int):
            return float(self.max_queue_delay)
        measured = 4 * (self._batch_time.seconds or 0.0)
        return min(timeout / 2, max(AUTO_QUEUE_DELAY_MIN, measured))

    def _admit(self, timeout: float) -> None:
        """Shed a request that would wait longer than the queue delay limit before predict starts."""
        limit = self.queue_delay_limit(timeout)
        waited = self._clock() - self._queue[0].enqueued
        batches = math.ceil(self._queued_rows / self.max_batch_size) if self.batchable else len(self._queue)
        ahead = self._batch_time.wait_for(max(batches, 1), self.max_concurrency)
        expected = max(waited, ahead)
        if expected > limit:
            raise TemporarilyUnavailable(
                f"the server is overloaded: a request would wait about {expected * 1000:.0f} ms for "
                f"predict, more than the {limit * 1000:.0f} ms --max-queue-ms allows; retry later"
            )

    # -- dispatch -----------------------------------------------------------------------------
    def _pump(self) -> None:
        """Start batches while predict slots are free and requests wait."""
        while self._running < self.max_concurrency and self._queue and self._held is None:
            batch = self._take()
            if not batch:
                continue
            if self.max_batch_delay > 0 and len(batch) > 1 and self._rows(batch) < self.max_batch_size:
                # Others were already waiting (load): give more rows a short chance to join.
                wait = batch[0].enqueued + self.max_batch_delay - self._clock()
                if wait > 0:
                    self._held = batch
                    self._running += 1
                    asyncio.get_running_loop().call_later(wait, self._release_held)
                    return
            self._launch(batch)
        self._notify_idle()

    def _release_held(self) -> None:
        batch, self._held = self._held, None
        if batch is not None:
            batch.extend(self._take(batch))
            self._running -= 1
            self._launch(batch)
        self._pump()

    def _launch(self, batch: list[_Item]) -> None:
        live = [item for item in batch if not item.future.done()]
        if not live:
            return
        counts = [item.rows for item in live]
        if self._on_batch is not None:
            self._on_batch(len(live), sum(counts))
        self._running += 1
        started = self._clock()
        work = self._start_work(
            _predict_batch,
            self._predict,
            [i.data for i in live],
            counts,
            live[0].params,
            self.batchable and not live[0].alone,
        )
        work.add_done_callback(lambda done: self._finish(live, done, started))

    def _finish(self, live: list[_Item], done: asyncio.Future[Any], started: float) -> None:
        self._running -= 1
        self._batch_time.observe(self._clock() - started)
        try:
            pieces = done.result()
        except ShipyardError as exc:
            _deliver_error(live, exc)
        except Exception as exc:  # the model itself failed
            error_id = uuid.uuid4().hex[:16]
            logger.error(
                "predict failed for a batch of %d requests (%d rows), error id %s\n%s",
                len(live),
                sum(i.rows for i in live),
                error_id,
                "".join(traceback.format_exception(exc)),
            )
            _deliver_error(
                live,
                PredictionFailed(
                    f"the model raised {type(exc).__name__} while predicting; the server log has "
                    f"the traceback under error id {error_id}",
                    error_id=error_id,
                ),
            )
        else:
            for item, piece in zip(live, pieces, strict=True):  # split_rows gives one piece per request
                if not item.future.done():
                    item.future.set_result(piece)
        self._pump()

    def _notify_idle(self) -> None:
        if self._idle is not None and not (self._queue or self._running or self._held is not None):
            self._idle.set()

    @staticmethod
    def _rows(batch: list[_Item]) -> int:
        return sum(item.rows for item in batch)

    def _take(self, batch: list[_Item] | None = None) -> list[_Item]:
        """Pop the next compatible requests in FIFO order (dropping those already timed out)."""
        taken: list[_Item] = []
        head = batch[0] if batch else None
        rows = self._rows(batch) if batch else 0
        queue = self._queue
        while queue:
            item = queue[0]
            if item.future.done():  # timed out while waiting: its work is dropped
                queue.popleft()
                self._queued_rows -= item.rows
                continue
            if head is None:
                queue.popleft()
                self._queued_rows -= item.rows
                taken.append(item)
                head, rows = item, item.rows
                if not self.batchable or item.alone or rows >= self.max_batch_size:
                    break
                continue
            if not self.batchable or item.alone or head.rows >= self.max_batch_size:
                break
            if item.params_key != head.params_key or rows + item.rows > self.max_batch_size:
                break
            queue.popleft()
            self._queued_rows -= item.rows
            taken.append(item)
            rows += item.rows
        return taken


class _BatchTime:
    """Seconds one predict call takes, smoothed over recent batches (EWMA): under load batches are
    full, so it is the time a full batch takes, which is what a queue behind it waits for."""

    SMOOTHING = 0.2

    def __init__(self) -> None:
        self.seconds: float | None = None

    def observe(self, seconds: float) -> None:
        previous = self.seconds
        self.seconds = seconds if previous is None else previous + self.SMOOTHING * (seconds - previous)

    def wait_for(self, batches: int, slots: int) -> float:
        """How long `batches` predict calls take on `slots` slots (0 before the first batch)."""
        if self.seconds is None:
            return 0.0
        return math.ceil(batches / slots) * self.seconds


def _predict_batch(predict: PredictFn, parts: list[Any], counts: list[int], params: Any, batchable: bool) -> list[Any]:
    """Runs in a worker thread: concatenate, predict, split (keeps the loop free)."""
    data = concat_rows(parts)
    output = predict(data, params)
    if not batchable:
        return [output]
    return split_rows(output, counts)


def _deliver_error(items: list[_Item], exc: BaseException) -> None:
    for item in items:
        if not item.future.done():
            item.future.set_exception(exc)


def _expire(future: asyncio.Future[Any], timeout: float) -> None:
    if not future.done():
        future.set_exception(DeadlineExceeded(f"no prediction within the request timeout of {timeout:g} s"))


def _params_key(params: dict[str, Any]) -> Any:
    """Requests batch together only when their params are equal."""
    try:
        return tuple(sorted((k, repr(v)) for k, v in params.items()))
    except TypeError:
        return object()  # unorderable: never batch with another request


__all__ = ["Batcher"]
