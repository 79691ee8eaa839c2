"""Replaying the spools that killed processes left behind (see `spool`).

Idempotent: only what lies past a spool's committed offset is sent, and of that, the metrics
the store already holds (written after the last commit, before the kill) are left out: the
store's (run, key, timestamp, step, value) rows are subtracted as a multiset, so a metric logged
twice on purpose stays twice. A param with the same value and a tag set to the same value change
nothing when sent again. The file is deleted once replayed.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shipyard.exceptions import ShipyardError
from shipyard.tracking.entities import Metric, Param, RunTag
from shipyard.tracking.spool import COMMITTED_SUFFIX, CREATING_SUFFIX, SPOOL_SUFFIX, committed_offset, decode_line
from shipyard.tracking.store import AbstractTrackingStore

_log = logging.getLogger(__name__)
REPLAY_BATCH = 5_000
STALE_CREATING_S = 60.0
"""A spool still under its creating name this long after its creation was left by a process
killed inside `Spool()` (which renames it microseconds after creating it): empty, removed."""


@contextlib.contextmanager
def _orphan(path: Path) -> Iterator[int | None]:
    """The spool's descriptor when its process is gone (we hold its lock), else None."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        yield None
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None  # its process is alive (or another replayer has it)
            return
        yield fd if os.fstat(fd).st_nlink > 0 else None  # NOTE: replayed and removed meanwhile
    finally:
        os.close(fd)


def _items(fd: int, offset: int) -> list[tuple[Any, ...]]:
    with os.fdopen(os.dup(fd), "rb") as fh:
        fh.seek(offset)
        items: list[tuple[Any, ...]] = []
        for line in fh:
            if not line.endswith(b"\n"):
                break  # torn: the process died inside this write (never returned to a caller)
            batch = decode_line(line)
            if batch is None:
                break
            items.extend(batch)
    return items


def _metric_id(key: str, value: float, timestamp: int, step: int) -> tuple[Any, ...]:
    return (key, timestamp, step, "nan" if value != value else value)


def _not_stored(store: AbstractTrackingStore, items: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """`items` less the metrics the store already has (as a multiset, per run and key)."""
    stored: dict[tuple[str, str], Counter[tuple[Any, ...]]] = {}
    kept: list[tuple[Any, ...]] = []
    for item in items:
        if item[0] == 0:
            have = stored.get((item[1], item[2]))
            if have is None:
                try:
                    history = store.get_metric_history(item[1], item[2])
                except ShipyardError:  # the run is gone: _send reports it
                    history = []
                have = stored[(item[1], item[2])] = Counter(
                    _metric_id(m.key, m.value, m.timestamp, m.step) for m in history
                )
            metric = _metric_id(item[2], item[3], item[4], item[5])
            if have[metric] > 0:
                have[metric] -= 1
                continue
        kept.append(item)
    return kept


def _send(store: AbstractTrackingStore, items: list[tuple[Any, ...]]) -> int:
    """Write items in order, a run's consecutive items in one log_batch; how many were sent."""
    items = _not_stored(store, items)
    for start in range(0, len(items), REPLAY_BATCH):
        by_run: dict[str, tuple[list[Metric], list[Param], list[RunTag]]] = {}
        for item in items[start : start + REPLAY_BATCH]:
            batch = by_run.setdefault(item[1], ([], [], []))
            if item[0] == 0:
                batch[0].append(Metric(item[2], item[3], item[4], item[5]))
            elif item[0] == 1:
                batch[1].append(Param(item[2], item[3]))
            else:
                batch[2].append(RunTag(item[2], item[3]))
        for run_id, (metrics, params, tags) in by_run.items():
            try:
                store.log_batch(run_id, metrics, params, tags)
            except ShipyardError as error:  # the run is gone or refuses: nothing can ever write it
                _log.warning("spooled logging for run %s could not be replayed: %s", run_id, error)
    return len(items)


def replay_orphans(store: AbstractTrackingStore, directory: Path | None) -> int:
    """Replay every spool in `directory` whose process is gone; how many items were sent (those
    the store already had are not counted).

    A transient store error propagates and leaves the spool for the next try."""
    if directory is None or not directory.is_dir():
        return 0
    sent = 0
    for path in sorted(directory.glob(f"*{SPOOL_SUFFIX}")):
        with _orphan(path) as fd:
            if fd is None:
                continue
            items = _items(fd, committed_offset(path))
            if items:
                _log.warning("replaying %d logged items that %s left unwritten", len(items), path.name)
                sent += _send(store, items)
            path.with_suffix(COMMITTED_SUFFIX).unlink(missing_ok=True)
            path.unlink(missing_ok=True)
    _remove_stale_creating(directory)
    return sent


def _remove_stale_creating(directory: Path) -> None:
    now = time.time()
    for path in directory.glob(f"*{CREATING_SUFFIX}"):
        with contextlib.suppress(FileNotFoundError):
            if now - path.stat().st_mtime < STALE_CREATING_S:
                continue
        with _orphan(path) as fd:
            if fd is not None:
                path.unlink(missing_ok=True)


__all__ = ["STALE_CREATING_S", "replay_orphans"]
