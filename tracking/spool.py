"""The crash-safe side of background logging: an append-only spool file per process.

The background writer appends every batch it takes from the training loop to the spool (and
fsyncs it) before the store sees it, and moves a committed-offset marker forward once the store
has it. A process that is SIGKILLed leaves its spool behind; the next one that opens the same
store (or `shipyard flush`) replays what lies past the marker (`spool_replay.replay_orphans`).

Layout: `<dir>/<pid>-<random>.spool` holds one line per batch, `[seq, [[kind, run_id, key,
value, timestamp, step], ...]]` (orjson; non-finite metric values as the strings "nan", "inf",
"-inf"); `<same>.committed` holds the byte offset up to which the store has everything, as 8
little-endian bytes. The live owner holds an exclusive `flock` on its spool, so a replayer only
takes files whose process is gone; a spool is locked under `<same>.creating` before it takes its
name, so no replayer ever meets it unlocked.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import math
import os
import struct
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

SPOOL_SUFFIX = ".spool"
COMMITTED_SUFFIX = ".committed"
CREATING_SUFFIX = ".creating"
FSYNC_INTERVAL_S = 0.1
"""A batch is fsynced at once when the last fsync is this old, so a power loss costs at most
this much (a SIGKILL costs nothing that was written: the page cache outlives the process)."""
_OFFSET = struct.Struct("<Q")
_NON_FINITE = {math.inf: "inf", -math.inf: "-inf"}


def spool_dir(store_uri: str, cache_dir: Path | None) -> Path | None:
    """Where a store's spools live: beside a sqlite file (`<file>-spool/`), else under the
    cache directory by a hash of the URI; None (no spooling) for in-memory sqlite or when no
    cache directory is given for a store that has no file of its own."""
    if store_uri.startswith("sqlite"):
        database = sa.engine.make_url(store_uri).database
        if not database or database == ":memory:" or database.startswith("file:"):
            return None  # NOTE: `file:` URIs (uri=true) can be in-memory; not worth parsing
        file_path = Path(database).expanduser()
        return file_path.with_name(file_path.name + "-spool")
    if cache_dir is None:
        return None
    digest = hashlib.sha256(store_uri.encode()).hexdigest()[:16]
    return cache_dir / "spool" / digest


def encode_batch(seq: int, items: Sequence[tuple[Any, ...]]) -> bytes:
    """One spool line. NOTE: orjson writes NaN and inf as null, so non-finite metric values are
    spelled as strings (metrics are kind 0, their value at index 3). Nothing else in an item can
    be null, so only a batch whose line holds a null takes the slow path."""
    line = orjson.dumps([seq, items])
    if b"null" not in line:
        return line + b"\n"
    rows: list[Any] = []
    for item in items:
        if item[0] == 0:
            value = item[3]
            if value != value:
                item = (*item[:3], "nan", *item[4:])
            elif value in _NON_FINITE:
                item = (*item[:3], _NON_FINITE[value], *item[4:])
        rows.append(item)
    return orjson.dumps([seq, rows]) + b"\n"


def decode_line(line: bytes) -> list[tuple[Any, ...]] | None:
    """The items of one spool line; None for a torn (half-written) or foreign line."""
    try:
        seq, rows = orjson.loads(line)
    except (orjson.JSONDecodeError, TypeError, ValueError):
        return None
    if not isinstance(seq, int) or not isinstance(rows, list):
        return None
    items: list[tuple[Any, ...]] = []
    for row in rows:
        if not isinstance(row, list) or not row or row[0] not in (0, 1, 2):
            return None
        if row[0] == 0:
            if len(row) != 6:
                return None
            value = float(row[3]) if isinstance(row[3], str) else row[3]
            items.append((0, row[1], row[2], value, row[4], row[5]))
        elif len(row) == 4:
            items.append(tuple(row))
        else:
            return None
    return items


def committed_offset(spool_path: Path) -> int:
    try:
        data = spool_path.with_suffix(COMMITTED_SUFFIX).read_bytes()
    except FileNotFoundError:
        return 0
    return _OFFSET.unpack(data[: _OFFSET.size])[0] if len(data) >= _OFFSET.size else 0


class Checkpoint:
    """Travels behind a spooled batch in the writer's queue: once the writer reaches it, the
    store has everything up to `offset` of the spool."""

    __slots__ = ("offset",)

    def __init__(self, offset: int) -> None:
        self.offset = offset


class Spool:
    """This process's spool file. `append` is called by the spool thread only; `commit` by the
    store writer; both under one lock with `reset`, so a commit never lands on a truncated file."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / f"{os.getpid()}-{uuid.uuid4().hex[:12]}{SPOOL_SUFFIX}"
        # NOTE: created under a name replayers never look at and locked before it takes its own
        # name (the rename keeps the inode and the lock): a replayer that met the file between
        # its creation and its lock would take it for an orphan, lock it and delete it.
        creating = self.path.with_suffix(CREATING_SUFFIX)
        for attempt in range(3):
            directory.mkdir(parents=True, exist_ok=True)
            try:
                self._fd = os.open(creating, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
                break
            except FileNotFoundError:  # NOTE: another process's close() removed the empty folder
                if attempt == 2:
                    raise
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # nobody else knows the name
        os.rename(creating, self.path)  # the folder is not empty now: no close() removes it
        self._commit_fd = os.open(self.path.with_suffix(COMMITTED_SUFFIX), os.O_WRONLY | os.O_CREAT, 0o600)
        self._lock = threading.Lock()
        self._seq = 0
        self.written = 0
        self.committed = 0
        self._last_sync = time.monotonic()
        self._dirty = False

    def append(self, items: Sequence[tuple[Any, ...]]) -> int:
        """Write one batch; the file offset after it (for the writer to commit)."""
        line = encode_batch(self._seq, items)
        with self._lock:
            self._seq += 1
            os.write(self._fd, line)
            self.written += len(line)
            self._dirty = True
            return self.written

    def sync_if_due(self) -> None:
        """fdatasync when data is waiting and the last sync is FSYNC_INTERVAL_S old."""
        if self._dirty and time.monotonic() - self._last_sync >= FSYNC_INTERVAL_S:
            self.sync()

    def sync(self) -> None:
        if self._dirty:
            self._dirty = False  # before: an append during the sync marks it dirty again
            os.fdatasync(self._fd)
        self._last_sync = time.monotonic()

    def commit(self, offset: int) -> None:
        """The store has everything up to `offset`; empty the file once it has all of it."""
        with self._lock:
            if offset <= self.committed or offset > self.written:
                return  # NOTE: a checkpoint from before a reset
            self.committed = offset
            if offset == self.written:
                os.ftruncate(self._fd, 0)
                self.written = self.committed = 0
            os.pwrite(self._commit_fd, _OFFSET.pack(self.committed), 0)

    def close(self, *, remove: bool) -> None:
        """Close the files; `remove` deletes them (everything is in the store)."""
        with self._lock:
            if remove and self.committed == self.written:
                self.path.unlink(missing_ok=True)
                self.path.with_suffix(COMMITTED_SUFFIX).unlink(missing_ok=True)
                with contextlib.suppress(OSError):  # another process's spool is still there
                    self.path.parent.rmdir()
            os.close(self._commit_fd)
            os.close(self._fd)

    def abandon(self) -> None:
        """In a forked child: drop the parent's descriptors (and its lock) without touching them."""
        os.close(self._commit_fd)
        os.close(self._fd)


__all__ = [
    "COMMITTED_SUFFIX",
    "CREATING_SUFFIX",
    "Checkpoint",
    "FSYNC_INTERVAL_S",
    "SPOOL_SUFFIX",
    "Spool",
    "committed_offset",
    "decode_line",
    "encode_batch",
    "spool_dir",
]
