"""The cache of project environments under the env root: one folder per content hash, built once.

A folder counts only once its marker file is written, which is the last step of a build; a
folder without one is half-built (a crash, Ctrl-C) and is rebuilt, never reused. A lock file per
key makes two processes that want the same environment at once build it once: the second waits
and then reuses it. The marker's modification time is the last use, which `gc` reads.

NOTE: the folder is built in place, not in a temporary folder renamed at the end: a virtual
environment is not relocatable (its scripts name its own path).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MARKER = "shipyard-env.json"
Progress = Callable[[str], None]


@dataclass(frozen=True)
class CachedEnv:
    """One folder of the cache; `complete` False means half-built (no marker)."""

    key: str
    path: Path
    complete: bool
    manager: str = ""
    python: str = ""
    source: str = ""
    last_used: float = 0.0

    def size_bytes(self) -> int:
        return sum(p.lstat().st_size for p in self.path.rglob("*") if p.is_file() and not p.is_symlink())


class EnvCache:
    """Environments under `root`, keyed by the content hash their manager computed."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @contextlib.contextmanager
    def _locked(self, key: str, progress: Progress | None, wait: bool = True) -> Iterator[bool]:
        """Hold the key's lock; yields False (without waiting) when `wait` is False and it is taken."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / f".{key}.lock", "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not wait:
                    yield False
                    return
                if progress is not None:
                    progress(f"Waiting for another process that is building environment {key} ...")
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def obtain(
        self, key: str, info: dict[str, str], build: Callable[[Path], None], progress: Progress
    ) -> tuple[Path, bool]:
        """(the environment's folder, True when it was reused); `build(folder)` makes a new one."""
        path = self.root / key
        with self._locked(key, progress):
            marker = path / MARKER
            if marker.is_file():
                os.utime(marker)
                return path, True
            if path.exists():
                progress(f"Removing half-built environment {path}")
                shutil.rmtree(path)
            started = time.monotonic()
            try:
                build(path)
            except BaseException:
                shutil.rmtree(path, ignore_errors=True)
                raise
            partial = path / f".{MARKER}.tmp"
            partial.write_text(json.dumps({**info, "created": time.time()}))
            os.replace(partial, marker)
            progress(f"Environment {key} ready in {time.monotonic() - started:.1f} s ({path})")
            return path, False

    def entries(self) -> list[CachedEnv]:
        """Every environment folder, complete or half-built, oldest use first."""
        if not self.root.is_dir():
            return []
        found = []
        for path in sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            marker = path / MARKER
            if not marker.is_file():
                found.append(CachedEnv(path.name, path, False, last_used=path.stat().st_mtime))
                continue
            data: dict[str, Any] = json.loads(marker.read_text())
            found.append(
                CachedEnv(
                    path.name,
                    path,
                    True,
                    str(data.get("manager", "")),
                    str(data.get("python", "")),
                    str(data.get("source", "")),
                    marker.stat().st_mtime,
                )
            )
        return sorted(found, key=lambda e: e.last_used)

    def gc(self, unused_for_s: float | None) -> list[CachedEnv]:
        """Remove half-built environments nobody is building, and complete ones not used for
        `unused_for_s` seconds (None: every one nobody is using to build). Returns what went."""
        now = time.time()
        removed = []
        for entry in self.entries():
            old_enough = unused_for_s is None or now - entry.last_used >= unused_for_s
            if entry.complete and not old_enough:
                continue
            with self._locked(entry.key, None, wait=False) as held:
                if not held:  # being built right now
                    continue
                # NOTE: the lock file stays: unlinking it would let a waiter and a newcomer
                # hold two different locks for the same key.
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(entry)
        return removed


__all__ = ["MARKER", "CachedEnv", "EnvCache", "Progress"]
