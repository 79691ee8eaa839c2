"""Non-blocking logging: metrics, params and tags go into a queue that one background thread per
store writes in batches, so a slow or busy database never stalls the training loop.

Guarantees
- `flush()` returns once everything queued before the call is written (or raises the first error
  the writer met since the last flush). `end_run` and interpreter exit (atexit) flush.
- Transient database errors (locked, connection dropped) are retried with backoff; nothing queued
  is dropped for them.
- Params are immutable: `queue_param` checks the new value against the run's stored params and
  everything queued before, and raises `InvalidInput` at once. A conflicting value written by
  *another process* in between is only seen by the writer; that error surfaces at the next flush.
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import threading
import time
import weakref
from typing import Any

import sqlalchemy as sa

from shipyard.exceptions import DeadlineExceeded, InvalidInput, ShipyardError, TemporarilyUnavailable
from shipyard.tracking.entities import Metric, Param, RunTag
from shipyard.tracking.store import AbstractTrackingStore

_log = logging.getLogger(__name__)

MAX_BATCH = 20_000
IDLE_WAIT_S = 0.2
RETRY_DELAYS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
MAX_QUEUED = 2_000_000
"""Past this many queued items, logging calls wait for the writer (memory stays bounded when the
store is down for long)."""
_METRIC, _PARAM, _TAG = 0, 1, 2
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    sa.exc.OperationalError,  # sqlite busy past its timeout, a dropped database connection
    TemporarilyUnavailable,  # a tracking server that is restarting or unreachable
    DeadlineExceeded,
    ConnectionError,
    TimeoutError,
)
"""Errors the writer retries with backoff instead of reporting (the data stays queued)."""


class _Marker:
    """A flush request travelling through the queue behind the items it waits for."""

    __slots__ = ("done", "error", "raise_errors", "run_id")

    def __init__(self, run_id: str | None, raise_errors: bool) -> None:
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.run_id = run_id
        self.raise_errors = raise_errors


class AsyncWriter:
    """The background writer of one store. Queue operations are `deque.append` (thread-safe)."""

    def __init__(self, store: AbstractTrackingStore) -> None:
        self.store = store
        self._params: dict[str, dict[str, str]] = {}
        self._start()
        os.register_at_fork(after_in_child=self._start)
        atexit.register(_flush_at_exit, weakref.ref(self))

    def _start(self) -> None:
        # NOTE: also runs in a forked child, where the parent's thread does not exist.
        self._queue: collections.deque[Any] = collections.deque()
        self._wake = threading.Event()
        self._params_lock = threading.Lock()
        self._errors: list[tuple[str | None, BaseException]] = []  # (run id, error)
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="shipyard-tracking-writer", daemon=True)
        self._thread.start()

    # --- the training thread's side -----------------------------------------------------------
    def queue_metric(self, run_id: str, key: str, value: float, timestamp: int, step: int) -> None:
        queue = self._queue
        queue.append((_METRIC, run_id, key, value, timestamp, step))
        if len(queue) >= MAX_BATCH:
            self._wake.set()
            if len(queue) >= MAX_QUEUED:
                self._wait_for_room()

    def _wait_for_room(self) -> None:
        """Backpressure: block the caller while the queue is over its bound."""
        while len(self._queue) >= MAX_QUEUED // 2 and self._thread.is_alive():
            self._wake.set()
            time.sleep(0.01)

    def queue_param(self, run_id: str, key: str, value: str) -> None:
        with self._params_lock:
            known = self._params.get(run_id)
            if known is None:
                known = self._params[run_id] = self.store.get_params(run_id)
            old = known.get(key)
            if old is not None and old != value:
                raise InvalidInput(
                    f"param {key!r} of run {run_id} is already {old!r}; it cannot be changed to "
                    f"{value!r} (params are immutable; log a new key or a metric instead)"
                )
            known[key] = value
        self._queue.append((_PARAM, run_id, key, value))

    def queue_tag(self, run_id: str, key: str, value: str) -> None:
        self._queue.append((_TAG, run_id, key, value))

    def flush(self, timeout: float | None = None, *, run_id: str | None = None, raise_errors: bool = True) -> None:
        """Wait until everything queued so far is written, then raise the first write error met
        meanwhile (for `run_id` only, when given; none with `raise_errors=False`, which leaves
        them for a later flush)."""
        if threading.current_thread() is self._thread:
            return
        marker = _Marker(run_id, raise_errors)
        self._queue.append(marker)
        self._wake.set()
        deadline = None if timeout is None else time.monotonic() + timeout
        while not marker.done.wait(0.5):
            if not self._thread.is_alive():
                raise ShipyardError("the tracking writer thread has stopped; queued data was not written")
            if deadline is not None and time.monotonic() > deadline:
                raise ShipyardError(f"tracking writer did not flush within {timeout} s")
        if marker.error is not None:
            raise marker.error

    def forget_run(self, run_id: str) -> None:
        """Drop the cached params of a finished run."""
        with self._params_lock:
            self._params.pop(run_id, None)

    # --- the writer thread --------------------------------------------------------------------
    def _run(self) -> None:
        queue = self._queue
        while not self._stopped:
            if not queue:
                self._wake.wait(IDLE_WAIT_S)
                self._wake.clear()
                continue
            items: list[Any] = []
            markers: list[_Marker] = []
            while queue and len(items) < MAX_BATCH:
                item = queue.popleft()
                if isinstance(item, _Marker):
                    markers.append(item)
                    break  # write what precedes the marker, then answer it
                items.append(item)
            if items:
                try:
                    self._write(items)
                except Exception as error:  # noqa: BLE001 - the thread must live on to answer flushes
                    _log.error("tracking writer failed: %s", error)
                    self._errors.append((None, error))
            for marker in markers:
                if marker.raise_errors:
                    mine = [e for e in self._errors if marker.run_id in (None, e[0]) or e[0] is None]
                    if mine:
                        marker.error = mine[0][1]
                        self._errors = [e for e in self._errors if e not in mine]
                marker.done.set()

    def _write(self, items: list[Any]) -> None:
        by_run: dict[str, tuple[list[Metric], list[Param], list[RunTag]]] = {}
        for item in items:
            run_id = item[1]
            batch = by_run.get(run_id)
            if batch is None:
                batch = by_run[run_id] = ([], [], [])
            kind = item[0]
            if kind == _METRIC:
                batch[0].append(Metric(item[2], item[3], item[4], item[5]))
            elif kind == _PARAM:
                batch[1].append(Param(item[2], item[3]))
            else:
                batch[2].append(RunTag(item[2], item[3]))
        for run_id, (metrics, params, tags) in by_run.items():
            try:
                self._with_retries(run_id, metrics, params, tags)
            except ShipyardError:
                self._write_separately(run_id, metrics, params, tags)
            except Exception as error:  # noqa: BLE001 - kept and raised to the caller at flush
                _log.error("tracking writer failed for run %s: %s", run_id, error)
                self._errors.append((run_id, error))

    def _write_separately(self, run_id: str, metrics: list[Metric], params: list[Param], tags: list[RunTag]) -> None:
        """One bad param must not cost the batch's good metrics: write the parts on their own."""
        parts: list[tuple[list[Metric], list[Param], list[RunTag]]] = [(metrics, [], []), ([], [], tags)]
        parts += [([], [param], []) for param in params]
        for part in parts:
            if not any(part):
                continue
            try:
                self._with_retries(run_id, *part)
            except Exception as error:  # noqa: BLE001 - kept and raised to the caller at flush
                _log.error("tracking writer failed for run %s: %s", run_id, error)
                self._errors.append((run_id, error))

    def _with_retries(self, run_id: str, metrics: list[Metric], params: list[Param], tags: list[RunTag]) -> None:
        for delay in (*RETRY_DELAYS_S, None):
            try:
                self.store.log_batch(run_id, metrics, params, tags)
                return
            except TRANSIENT_ERRORS:
                if delay is None:
                    raise
                _log.warning("tracking store busy or unreachable; retrying in %.2f s", delay)
                time.sleep(delay)

    def close(self) -> None:
        self.flush()
        self._stopped = True
        self._wake.set()


def _flush_at_exit(ref: weakref.ref[AsyncWriter]) -> None:
    writer = ref()
    if writer is None or not writer._thread.is_alive():
        return
    try:
        writer.flush(timeout=60)
    except Exception as error:  # noqa: BLE001 - nobody is left to raise it to
        _log.error("tracking data could not be written at exit: %s", error)


_WRITERS: dict[int, AsyncWriter] = {}
_WRITERS_LOCK = threading.Lock()


def writer_for(store: AbstractTrackingStore) -> AsyncWriter:
    """The one background writer of a store (started on first use)."""
    writer = _WRITERS.get(id(store))
    if writer is None:
        with _WRITERS_LOCK:
            writer = _WRITERS.get(id(store))
            if writer is None:
                writer = _WRITERS[id(store)] = AsyncWriter(store)
    return writer


def flush_writer(store: AbstractTrackingStore) -> None:
    """Flush the store's writer if this process has one (readers call it for read-your-writes)."""
    writer = _WRITERS.get(id(store))
    if writer is not None:
        writer.flush(raise_errors=False)  # write errors belong to end_run, not to a reader


__all__ = ["AsyncWriter", "flush_writer", "writer_for"]
