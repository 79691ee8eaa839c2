"""Non-blocking logging: metrics, params and tags go into a queue that one background thread per
store writes in batches, so a slow or busy database never stalls the training loop.

Guarantees
- `flush()` returns once everything queued before the call is written (or raises the first error
  the writer met since the last flush). `end_run` and interpreter exit (atexit) flush.
- Transient database errors (locked, connection dropped) are retried with backoff; nothing queued
  is dropped for them.
- Crash safety: a spool thread takes what the training loop queued at least every
  SPOOL_INTERVAL_S, appends it to this process's spool file (fsynced every 100 ms) and hands it
  to the store writer, which commits the spool's offset as batches reach the store. A SIGKILL
  costs at most the last SPOOL_INTERVAL_S of calls; the next writer for the same store (or
  `shipyard flush`) replays what the dead process left (`spool_replay`).
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
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from shipyard.exceptions import DeadlineExceeded, InvalidInput, ShipyardError, TemporarilyUnavailable
from shipyard.tracking.entities import Metric, Param, RunTag
from shipyard.tracking.spool import FSYNC_INTERVAL_S, Checkpoint, Spool, spool_dir
from shipyard.tracking.spool_replay import replay_orphans
from shipyard.tracking.store import AbstractTrackingStore

_log = logging.getLogger(__name__)

MAX_BATCH = 20_000
IDLE_WAIT_S = 0.2
SPOOL_INTERVAL_S = 0.05
"""How often the spool thread takes the training loop's queue: the most a SIGKILL can lose."""
SPOOL_BATCH = 4_096
"""A caller that has queued this many spools them itself (about 40 ms of a tight loop).

NOTE: on a loaded machine a background thread can go without the CPU or the GIL for hundreds
of ms while the training loop runs; the loop spooling its own backlog keeps the bound anyway."""
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
    """The background writer of one store. Queue operations are `deque.append` (thread-safe).

    `spool_directory` None: no spool (in-memory stores, or a caller that opts out)."""

    def __init__(self, store: AbstractTrackingStore, spool_directory: Path | None = None) -> None:
        self.store = store
        self.spool_directory = spool_directory
        self._params: dict[str, dict[str, str]] = {}
        self._spool: Spool | None = None
        try:
            replay_orphans(store, spool_directory)
        except Exception as error:  # noqa: BLE001 - a store that is down must not stop new logging
            _log.warning("could not replay the tracking spools in %s yet: %s", spool_directory, error)
        self._start()
        os.register_at_fork(after_in_child=self._start)
        atexit.register(_flush_at_exit, weakref.ref(self))

    def _start(self) -> None:
        # NOTE: also runs in a forked child, where the parent's threads do not exist and its
        # spool (and the lock on it) must be let go, or the parent's file could not be replayed.
        if self._spool is not None:
            self._spool.abandon()
        self._spool = None if self.spool_directory is None else Spool(self.spool_directory)
        self._queue: collections.deque[Any] = collections.deque()
        self._pending: collections.deque[Any] = collections.deque()  # spooled, for the store
        self._wake = threading.Event()
        self._wake_writer = threading.Event()
        self._params_lock = threading.Lock()
        self._spool_lock = threading.Lock()  # one drainer at a time keeps the order
        self._errors: list[tuple[str | None, BaseException]] = []  # (run id, error)
        self._stopped = False
        self._spooler = threading.Thread(target=self._spool_loop, name="shipyard-tracking-spool", daemon=True)
        self._thread = threading.Thread(target=self._run, name="shipyard-tracking-writer", daemon=True)
        self._spooler.start()
        self._thread.start()
        if self._spool is not None:
            threading.Thread(
                target=self._sync_loop, args=(self._spool,), name="shipyard-spool-sync", daemon=True
            ).start()

    # --- the training thread's side -----------------------------------------------------------
    def queue_metric(self, run_id: str, key: str, value: float, timestamp: int, step: int) -> None:
        queue = self._queue
        queue.append((_METRIC, run_id, key, value, timestamp, step))
        if len(queue) >= SPOOL_BATCH:
            self._spool_backlog()

    def _spool_backlog(self) -> None:
        """The caller spools what it queued, unless the spool thread is doing it right now;
        backpressure: it waits first while the store writer is over its bound."""
        if len(self._pending) >= MAX_QUEUED:
            while len(self._pending) >= MAX_QUEUED // 2 and self._thread.is_alive():
                self._wake_writer.set()
                time.sleep(0.01)
        # NOTE: waits for the spool thread only when it falls behind (preempted while holding it).
        if self._spool_lock.acquire(blocking=len(self._queue) >= 2 * SPOOL_BATCH):
            try:
                self._drain()
            finally:
                self._spool_lock.release()

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
        if len(self._queue) >= SPOOL_BATCH:
            self._spool_backlog()

    def queue_tag(self, run_id: str, key: str, value: str) -> None:
        self._queue.append((_TAG, run_id, key, value))
        if len(self._queue) >= SPOOL_BATCH:
            self._spool_backlog()

    def flush(self, timeout: float | None = None, *, run_id: str | None = None, raise_errors: bool = True) -> None:
        """Wait until everything queued so far is written, then raise the first write error met
        meanwhile (for `run_id` only, when given; none with `raise_errors=False`, which leaves
        them for a later flush)."""
        if threading.current_thread() in (self._thread, self._spooler):
            return
        marker = _Marker(run_id, raise_errors)
        self._queue.append(marker)
        self._wake.set()
        deadline = None if timeout is None else time.monotonic() + timeout
        while not marker.done.wait(0.5):
            if not (self._thread.is_alive() and self._spooler.is_alive()):
                raise ShipyardError("the tracking writer thread has stopped; queued data was not written")
            if deadline is not None and time.monotonic() > deadline:
                raise ShipyardError(f"tracking writer did not flush within {timeout} s")
        if marker.error is not None:
            raise marker.error

    def forget_run(self, run_id: str) -> None:
        """Drop the cached params of a finished run."""
        with self._params_lock:
            self._params.pop(run_id, None)

    # --- the spool thread ---------------------------------------------------------------------
    def _spool_loop(self) -> None:
        """Every SPOOL_INTERVAL_S (or when a flush asks), spool what the training loop queued."""
        while not self._stopped:
            self._wake.wait(SPOOL_INTERVAL_S)
            self._wake.clear()
            # NOTE: past the writer's bound, leave the queue to grow: the caller's backpressure
            # sees it (those calls are spooled once the store catches up).
            if self._queue and len(self._pending) < MAX_QUEUED:
                with self._spool_lock:
                    self._drain()

    def _drain(self) -> None:
        """Move the queue to the spool file and on to the store writer, in order (hold
        `_spool_lock`). A flush marker makes the spool durable before it is passed on."""
        queue, pending = self._queue, self._pending
        while queue:
            items: list[Any] = []
            marker: _Marker | None = None
            while queue and len(items) < MAX_BATCH:
                item = queue.popleft()
                if isinstance(item, _Marker):
                    marker = item
                    break
                items.append(item)
            if items:
                self._hand_over(items)
            if marker is not None:
                if self._spool is not None:
                    self._spool.sync()  # a flush means durable, not only in the page cache
                pending.append(marker)
        self._wake_writer.set()

    def _sync_loop(self, spool: Spool) -> None:
        """fsync the spool every FSYNC_INTERVAL_S while it has new data.

        NOTE: its own thread: an fsync on a busy disk takes tens of ms, and the spool thread
        must not stall behind it (a SIGKILL only needs the write, not the fsync)."""
        while not self._stopped and spool is self._spool:
            time.sleep(FSYNC_INTERVAL_S / 2)
            try:
                spool.sync_if_due()
            except OSError as error:  # closed at exit, or the disk is gone: the store still gets it
                if not self._stopped:
                    _log.error("tracking spool %s could not be synced: %s", spool.path, error)
                return

    def _hand_over(self, items: list[Any]) -> None:
        if self._spool is None:
            self._pending.extend(items)
            return
        try:
            offset = self._spool.append(items)
        except (OSError, TypeError) as error:  # a full disk, an int past 64 bits: the store still gets it
            _log.error("tracking spool %s could not be written: %s", self._spool.path, error)
            self._pending.extend(items)
            return
        self._pending.extend(items)
        self._pending.append(Checkpoint(offset))

    # --- the writer thread --------------------------------------------------------------------
    def _run(self) -> None:
        queue = self._pending
        while not self._stopped:
            if not queue:
                self._wake_writer.wait(IDLE_WAIT_S)
                self._wake_writer.clear()
                continue
            items: list[Any] = []
            markers: list[_Marker] = []
            checkpoint: Checkpoint | None = None
            while queue and len(items) < MAX_BATCH:
                item = queue.popleft()
                if isinstance(item, _Marker):
                    markers.append(item)
                    break  # write what precedes the marker, then answer it
                if isinstance(item, Checkpoint):
                    checkpoint = item
                    continue
                items.append(item)
            if items:
                try:
                    self._write(items)
                except Exception as error:  # noqa: BLE001 - the thread must live on to answer flushes
                    _log.error("tracking writer failed: %s", error)
                    self._errors.append((None, error))
            if checkpoint is not None and self._spool is not None:
                self._commit(checkpoint.offset)
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

    def _commit(self, offset: int) -> None:
        assert self._spool is not None
        try:
            self._spool.commit(offset)
        except OSError as error:  # the data is in the store; a replay would only resend it
            _log.error("tracking spool %s could not be committed: %s", self._spool.path, error)

    def close(self) -> None:
        """Flush, stop the threads, and remove the spool (everything in it is in the store)."""
        self.flush()
        self._stopped = True
        self._wake.set()
        self._wake_writer.set()
        self._spooler.join(timeout=5)
        self._thread.join(timeout=5)
        if self._spool is not None:
            self._spool.close(remove=not self._errors)
            self._spool = None


def _flush_at_exit(ref: weakref.ref[AsyncWriter]) -> None:
    writer = ref()
    if writer is None or not writer._thread.is_alive():
        return
    try:
        writer.flush(timeout=60)
    except Exception as error:  # noqa: BLE001 - nobody is left to raise it to
        _log.error("tracking data could not be written at exit: %s (kept in the spool for a replay)", error)
        return
    writer._stopped = True
    writer._wake.set()
    writer._wake_writer.set()
    writer._spooler.join(timeout=1)
    writer._thread.join(timeout=1)
    spool = writer._spool
    if spool is not None and not writer._spooler.is_alive():
        spool.close(remove=True)  # removes only when everything spooled is committed
        writer._spool = None


_WRITERS: dict[int, AsyncWriter] = {}
_WRITERS_LOCK = threading.Lock()


def writer_for(store: AbstractTrackingStore, cache_dir: Path | None = None) -> AsyncWriter:
    """The one background writer of a store (started on first use, after replaying the spools
    that dead processes left for this store). `cache_dir` (the settings' `cache_dir`) is where
    the spool of a store without a file of its own goes; a sqlite file's is beside it."""
    writer = _WRITERS.get(id(store))
    if writer is None:
        with _WRITERS_LOCK:
            writer = _WRITERS.get(id(store))
            if writer is None:
                directory = spool_dir(str(getattr(store, "uri", "")), cache_dir)
                writer = _WRITERS[id(store)] = AsyncWriter(store, directory)
    return writer


def flush_writer(store: AbstractTrackingStore) -> None:
    """Flush the store's writer if this process has one (readers call it for read-your-writes)."""
    writer = _WRITERS.get(id(store))
    if writer is None:
        directory = spool_dir(str(getattr(store, "uri", "")), None)
        if directory is None or not directory.is_dir():
            return
        writer = writer_for(store)  # a sqlite file with spools beside it: replay them first
    writer.flush(raise_errors=False)  # write errors belong to end_run, not to a reader


__all__ = ["AsyncWriter", "flush_writer", "writer_for"]
