"""Immutable, content-addressed storage for registered versions, and the local fetch cache.

Layout under a root folder (the artifact root's `model-versions/`, or the cache directory):

    <root>/sha256/<hex>/...        one complete, verified copy per digest; files are read-only
    <root>/.tmp/<host>-<pid>-<id>/ copies in progress

Write protocol (`put`): copy into a temp dir under the same root while hashing the source bytes,
fsync every file, re-hash the copy and compare, fsync the directories, then `rename` the temp dir
to `sha256/<hex>` (atomic on one filesystem). The caller marks the version READY in the database
only after `put` returns, so a crash at any point leaves either a temp dir nobody reads or a
complete copy that no READY row points at yet; never a half-written version anyone can load.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import shutil
import socket
import stat
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from shipyard.exceptions import IntegrityError, InvalidInput
from shipyard.registry.digest import (
    CHUNK_SIZE,
    DIGEST_PREFIX,
    compute_digest,
    digest_hex,
    entry_header,
    iter_entries,
)
from shipyard.tracking.artifact_transfer import ObjectStoreRepository

ProgressCallback = Callable[[str, int], None]
"""Called after each file is copied with (relative path, bytes copied)."""

READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH


@dataclass(frozen=True)
class StoredCopy:
    digest: str
    path: Path
    uri: str = ""
    """Where the copy lives as a URI: `file:///...` here, `s3://...` in an object store."""

    @property
    def location(self) -> str:
        return self.uri or self.path.resolve().as_uri()


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree_dirs(root: Path) -> None:
    for dirpath, _dirs, _files in os.walk(root, topdown=False):
        _fsync_path(Path(dirpath))


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this host (a zombie counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _rmtree(path: Path) -> None:
    """Remove a tree even when its files are read-only (our stored copies are)."""
    shutil.rmtree(path, ignore_errors=True)


class VersionStorage:
    """A folder of immutable model copies keyed by digest."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @contextlib.contextmanager
    def lock(self, *, exclusive: bool) -> Iterator[None]:
        """Registrations hold this shared from copy to READY; freeing copies holds it exclusive.

        NOTE: without it, deleting the last version of some content could remove the stored copy
        that a concurrent registration of the same content has just reused but not yet marked READY.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def path_for(self, digest: str) -> Path:
        return self.root / "sha256" / digest_hex(digest)

    def _new_tmp(self) -> Path:
        tmp_root = self.root / ".tmp"
        tmp_root.mkdir(parents=True, exist_ok=True)
        tmp = tmp_root / f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        tmp.mkdir()
        return tmp

    def sweep_stale_tmp(self) -> list[Path]:
        """Remove temp copies left by processes on this host that no longer run (crashes)."""
        tmp_root = self.root / ".tmp"
        removed: list[Path] = []
        if not tmp_root.is_dir():
            return removed
        host = socket.gethostname()
        for entry in tmp_root.iterdir():
            owner_host, _, rest = entry.name.rpartition("-")[0].rpartition("-")
            pid_text = rest
            if owner_host != host or not pid_text.isdigit():
                continue
            if not pid_alive(int(pid_text)):
                _rmtree(entry)
                removed.append(entry)
        return removed

    def put(self, source: str | Path, *, progress: ProgressCallback | None = None) -> StoredCopy:
        """Copy a model directory in with the write protocol above; returns its digest and home."""
        source = Path(source)
        tmp = self._new_tmp()
        try:
            h = hashlib.sha256()
            for rel, path, is_dir in iter_entries(source):
                target = tmp / rel
                if is_dir:
                    h.update(entry_header(rel, None))
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                copied = _copy_hashing(path, target, rel, h)
                if progress is not None:
                    progress(rel, copied)
            digest = DIGEST_PREFIX + h.hexdigest()
            found = compute_digest(tmp)
            if found != digest:
                raise IntegrityError(
                    f"copy of {str(source)!r} does not match what was read ({found} != {digest}); "
                    "the source changed while it was being registered, try again"
                )
            _fsync_tree_dirs(tmp)
            return StoredCopy(digest, self._publish(tmp, digest))
        finally:
            if tmp.exists():
                _rmtree(tmp)

    def import_with(self, digest: str, fill: Callable[[Path], None]) -> Path:
        """Fetch a copy of `digest` into this storage once: `fill(dir)` writes it, then verify.

        Used by the fetch cache: a complete, verified copy is reused; anything else is refetched.
        """
        final = self.path_for(digest)
        if final.is_dir() and compute_digest(final) == digest:
            return final
        tmp = self._new_tmp()
        try:
            fill(tmp)
            found = compute_digest(tmp)
            if found != digest:
                raise IntegrityError(f"fetched copy of {digest} has digest {found}; the stored version is damaged")
            for dirpath, _dirs, files in os.walk(tmp):
                for f in files:
                    p = Path(dirpath) / f
                    _fsync_path(p)
                    p.chmod(READ_ONLY)
            _fsync_tree_dirs(tmp)
            return self._publish(tmp, digest)
        finally:
            if tmp.exists():
                _rmtree(tmp)

    def adopt(self, fill: Callable[[Path], Path]) -> StoredCopy:
        """Keep a copy whose digest is not known beforehand (a run's files fetched from a server):
        `fill(tmp)` writes it under a temp dir and returns its folder, which is then hashed, made
        read-only and published under its digest, so repeated fetches take no extra space."""
        tmp = self._new_tmp()
        try:
            folder = fill(tmp)
            digest = compute_digest(folder)
            for dirpath, _dirs, files in os.walk(folder):
                for f in files:
                    p = Path(dirpath) / f
                    _fsync_path(p)
                    p.chmod(READ_ONLY)
            _fsync_tree_dirs(folder)
            return StoredCopy(digest, self._publish(folder, digest))
        finally:
            if tmp.exists():
                _rmtree(tmp)

    def _publish(self, tmp: Path, digest: str) -> Path:
        final = self.path_for(digest)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            if compute_digest(final) == digest:
                return final  # NOTE: same content registered before (or concurrently): reuse it
            damaged = final.with_name(f"{final.name}.damaged-{uuid.uuid4().hex[:8]}")
            os.rename(final, damaged)
            _rmtree(damaged)
        try:
            os.rename(tmp, final)
        except OSError as exc:
            # A concurrent writer published the same digest between our check and rename.
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY) or compute_digest(final) != digest:
                raise
            return final
        _fsync_path(final.parent)
        return final

    def delete(self, digest: str) -> None:
        _rmtree(self.path_for(digest))


def _copy_hashing(src: Path, dst: Path, rel: str, h: hashlib._Hash) -> int:
    """Copy one file, feeding header and bytes to `h`; fsync it and make it read-only."""
    copied = 0
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        size = os.fstat(fin.fileno()).st_size
        h.update(entry_header(rel, size))
        while chunk := fin.read(CHUNK_SIZE):
            h.update(chunk)
            fout.write(chunk)
            copied += len(chunk)
        fout.flush()
        os.fsync(fout.fileno())
    dst.chmod(READ_ONLY)
    return copied


class ObjectVersionStorage:
    """`VersionStorage` in an object store (`s3://.../model-versions`, `wasbs://...`): the same
    layout (`sha256/<hex>/...`) and the same promise, READY only after the copy was verified.

    Write protocol: hash the source, upload it under its digest (in parts), then read every
    stored object back and hash that; a copy that does not match is deleted and the
    registration fails. Objects appear one by one, but nobody reads `sha256/<hex>` before a READY
    row points at it, and a re-registration of the same content re-verifies before reuse.
    NOTE: object stores keep no empty folders, so a model directory holding one is refused.
    NOTE: no lock across hosts: freeing a copy while another host registers the same content
    could remove it; `put` re-verifies, and the version would then fail, not load damaged."""

    def __init__(self, repo: ObjectStoreRepository) -> None:
        self.repo = repo

    @contextlib.contextmanager
    def lock(self, *, exclusive: bool) -> Iterator[None]:
        yield

    def sweep_stale_tmp(self) -> list[Path]:
        return []  # nothing is staged: objects are written in place under their digest

    def relative_for(self, digest: str) -> str:
        return f"sha256/{digest_hex(digest)}"

    def stored_digest(self, relative: str) -> str:
        """The digest of what the store holds under `relative`, streamed back from it."""
        h = hashlib.sha256()
        for rel, size in self.repo.tree(relative):
            inner = rel[len(relative) + 1 :]
            h.update(entry_header(inner, size))
            _size, chunks = self.repo.open_chunks(rel)
            for chunk in chunks:
                h.update(chunk)
        return DIGEST_PREFIX + h.hexdigest()

    def put(self, source: str | Path, *, progress: ProgressCallback | None = None) -> StoredCopy:
        source = Path(source)
        entries = list(iter_entries(source))
        empty = [rel for rel, _path, is_dir in entries if is_dir]
        if empty:
            raise InvalidInput(
                f"model directory {str(source)!r} holds empty folders {empty[:3]}; object stores cannot keep them"
            )
        digest = compute_digest(source)
        relative = self.relative_for(digest)
        uri = f"{self.repo.artifact_uri.rstrip('/')}/{relative}"
        if self.repo.tree(relative) and self.stored_digest(relative) == digest:
            return StoredCopy(digest, Path(relative), uri)  # NOTE: same content registered before: reuse it
        self.repo.delete_artifacts(relative)
        for rel, path, _is_dir in entries:
            self.repo.log_artifact(path, f"{relative}/{rel}".rsplit("/", 1)[0])
            if progress is not None:
                progress(rel, path.stat().st_size)
        found = self.stored_digest(relative)
        if found != digest:
            self.repo.delete_artifacts(relative)
            raise IntegrityError(
                f"copy of {str(source)!r} in {uri} does not match what was read ({found} != {digest}); "
                "the source changed while it was being registered, or the store lost a write; try again"
            )
        return StoredCopy(digest, Path(relative), uri)

    def delete(self, digest: str) -> None:
        self.repo.delete_artifacts(self.relative_for(digest))


def verify_copy(path: Path, digest: str, *, what: str) -> None:
    """Refuse a stored or cached copy whose contents no longer match the registered digest."""
    if not path.is_dir():
        raise IntegrityError(f"{what}: stored copy {str(path)!r} is missing; it was deleted after registration")
    found = compute_digest(path)
    if found != digest:
        raise IntegrityError(
            f"{what}: stored copy {str(path)!r} has digest {found} but {digest} was registered; "
            "the files were modified or truncated after registration and will not be loaded"
        )


__all__ = ["ObjectVersionStorage", "ProgressCallback", "StoredCopy", "VersionStorage", "pid_alive", "verify_copy"]
