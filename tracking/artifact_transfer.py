"""The part every object store (`s3://`, `wasbs://`) shares: the repository interface built on a
few primitives (put, get, head, list, delete), path confinement, folder walks, progress.

A subclass says how to move one object; this module says which objects. Keys are
`<prefix>/<relative>`, where every relative path went through `safe_relative_path`, and every
listed key is checked again (a key with `..` written by another tool is refused, not followed).
Transfers go file to object and object to file in parts (the SDKs' multipart and ranged
downloads, several parts at once, retried with backoff); no file is ever read into memory whole.
"""

from __future__ import annotations

import abc
import os
import posixpath
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from shipyard.exceptions import ArtifactPathError, ResourceNotFound
from shipyard.tracking.artifacts import ArtifactRepository, _check_source_tree, safe_relative_path
from shipyard.tracking.entities import FileInfo
from shipyard.tracking.http_settings import RestClientSettings
from shipyard.tracking.object_store_settings import ObjectStoreSettings
from shipyard.tracking.progress import progress_bar
from shipyard.tracking.streamed_upload import PartUpload, StreamedUpload, part_size

Advance = Callable[[int], None] | None
"""Called with the bytes moved since the last call (drives the progress bar), or None."""


@dataclass(frozen=True)
class Listing:
    """One level under a prefix: child folder names and (child file name, size)."""

    folders: list[str]
    files: list[tuple[str, int]]


class ObjectStoreRepository(ArtifactRepository):
    """Files under `<container>/<prefix>` of an object store; subclasses move single objects."""

    remote = True
    """`get_artifact_repository` hands the constructor the caller's `RestClientSettings`."""

    def __init__(
        self, artifact_uri: str, http: RestClientSettings | None = None, *, tracking_uri: str | None = None
    ) -> None:
        super().__init__(artifact_uri)
        self.stores: ObjectStoreSettings = (http or RestClientSettings()).stores

    # --- what a store implements ------------------------------------------------------------------
    prefix: str
    """The root's key prefix, without slashes at either end ('' for the container's root)."""

    @abc.abstractmethod
    def _put(self, local: Path, key: str, advance: Advance) -> None: ...

    @abc.abstractmethod
    def _get(self, key: str, dest: Path, advance: Advance) -> None: ...

    @abc.abstractmethod
    def _size(self, key: str) -> int | None:
        """The object's size, None when there is no object with this exact key."""

    @abc.abstractmethod
    def _list(self, key_prefix: str) -> Listing:
        """Direct children of `key_prefix` (ending with '/', or '' for the container)."""

    @abc.abstractmethod
    def _keys(self, key_prefix: str) -> list[tuple[str, int]]:
        """(key, size) of every object whose key starts with `key_prefix`."""

    @abc.abstractmethod
    def _delete(self, keys: list[str]) -> None: ...

    @abc.abstractmethod
    def _chunks(self, key: str) -> Iterator[bytes]:
        """The object's bytes in parts, for the server's proxy to stream."""

    def _part_upload(self, key: str) -> PartUpload | None:
        """A multipart upload of `key` (not begun yet), or None where the store does not pipeline
        uploads: the body is then spooled whole and put at the end."""
        return None

    # --- the repository interface --------------------------------------------------------------------
    def key(self, relative: str) -> str:
        return posixpath.join(self.prefix, relative) if self.prefix and relative else self.prefix or relative

    def _relative_of(self, key: str) -> str:
        rest = key[len(self.prefix) + 1 :] if self.prefix else key
        return safe_relative_path(rest, what="stored key")

    def _upload(self, local: Path, relative: str) -> None:
        size = local.stat().st_size
        with progress_bar(f"upload {relative}", size) as advance:
            self._put(local, self.key(relative), advance)

    def _download(self, relative: str, size: int, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.part")
        try:
            with progress_bar(f"download {relative}", size) as advance:
                self._get(self.key(relative), tmp, advance)
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)

    def log_artifact(self, local_file: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        source = Path(local_file)
        if not source.is_file():
            raise ResourceNotFound(f"local_file {str(source)!r} is not a file")
        base = safe_relative_path(artifact_path)
        self._upload(source, posixpath.join(base, source.name) if base else source.name)

    def log_artifacts(self, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        source = Path(local_dir)
        if not source.is_dir():
            raise ResourceNotFound(f"local_dir {str(source)!r} is not a folder")
        _check_source_tree(source)
        base = safe_relative_path(artifact_path)
        for dirpath, _dirs, files in os.walk(source):
            for name in sorted(files):
                local = Path(dirpath) / name
                relative = local.relative_to(source).as_posix()
                self._upload(local, posixpath.join(base, relative) if base else relative)

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        relative = safe_relative_path(path, what="path")
        key = self.key(relative)
        listing = self._list(key + "/" if key else "")
        infos = [FileInfo(self._child(relative, name), True, None) for name in listing.folders]
        infos += [FileInfo(self._child(relative, name), False, size) for name, size in listing.files]
        return sorted(infos, key=lambda info: info.path)

    @staticmethod
    def _child(relative: str, name: str) -> str:
        child = posixpath.join(relative, name) if relative else name
        return safe_relative_path(child, what="stored key")

    def download_artifacts(self, artifact_path: str = "", dst_path: str | os.PathLike[str] | None = None) -> str:
        relative = safe_relative_path(artifact_path)
        dst_root = Path(dst_path) if dst_path is not None else Path(tempfile.mkdtemp(prefix="shipyard-download-"))
        dst_root.mkdir(parents=True, exist_ok=True)
        size = self._size(self.key(relative)) if relative else None
        if size is not None:
            dest = dst_root / posixpath.basename(relative)
            self._download(relative, size, dest)
            return str(dest.resolve())
        dest = dst_root / posixpath.basename(relative) if relative else dst_root
        found = self.tree(relative)
        if not found and relative:
            raise ResourceNotFound(f"artifact {relative!r} does not exist under {self.artifact_uri}")
        dest.mkdir(parents=True, exist_ok=True)
        for child, child_size in found:
            inner = child[len(relative) + 1 :] if relative else child
            self._download(child, child_size, dest.joinpath(*inner.split("/")))
        return str(dest.resolve())

    def tree(self, relative: str = "") -> list[tuple[str, int]]:
        """(relative path, size) of every file under `relative`, sorted."""
        key = self.key(relative)
        files = []
        for stored, size in self._keys(key + "/" if key else ""):
            if not stored.endswith("/"):  # NOTE: a key ending in '/' is a folder marker some tools write
                files.append((self._relative_of(stored), size))
        return sorted(files)

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        relative = safe_relative_path(artifact_path)
        key = self.key(relative)
        keys = [stored for stored, _size in self._keys(key + "/" if key else "")]
        if relative and self._size(key) is not None:
            keys.append(key)
        if keys:
            self._delete(keys)

    def open_chunks(self, artifact_file: str) -> tuple[int, Iterator[bytes]]:
        """(size, the bytes in parts) of one file; `ResourceNotFound` if there is none."""
        relative = safe_relative_path(artifact_file, what="path")
        if not relative:
            raise ArtifactPathError("path must name a file, got the artifact root")
        size = self._size(self.key(relative))
        if size is None:
            raise ResourceNotFound(f"artifact {relative!r} does not exist")
        return size, self._chunks(self.key(relative))

    def streamed_upload(self, artifact_file: str, spool: Path, limit: int) -> StreamedUpload:
        """An upload of a body of at most `limit` bytes to `artifact_file`, spooled at `spool`,
        whose parts go to the store while the body still arrives (see `streamed_upload`)."""
        relative = safe_relative_path(artifact_file, what="path")
        if not relative:
            raise ArtifactPathError("path must name a file, got the artifact root")
        parts = self._part_upload(self.key(relative))
        part_bytes = part_size(self.stores.part_bytes, limit, parts) if parts is not None else self.stores.part_bytes
        return StreamedUpload(
            spool,
            parts,
            lambda local: self._upload(local, relative),
            part_bytes=part_bytes,
            concurrency=self.stores.max_concurrency,
        )

    def file_size(self, artifact_file: str) -> int | None:
        """The size of the file at `artifact_file`; None for a folder, the root or nothing."""
        relative = safe_relative_path(artifact_file, what="path")
        return self._size(self.key(relative)) if relative else None


__all__ = ["Advance", "Listing", "ObjectStoreRepository"]
