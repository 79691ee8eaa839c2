"""Artifact repositories: where a run's files live. One interface, one class per URI scheme.

`ARTIFACT_REPOSITORIES` maps a URI scheme to a "module:attr" import string (a plain path means
`file`), or, for a scheme MLflow users write that this Shipyard has no store for, to the extra
that provides it (`shipyard[s3]`) or to `NO_STORE`: such a URI is an error naming the scheme and
the extra, never a local folder named `s3:`. Every path a caller passes is relative to the
repository's root and confined to it: `..` segments, absolute paths and symlinks leading out are
refused with `ArtifactPathError`.
"""

from __future__ import annotations

import abc
import os
import posixpath
import shutil
import tempfile
from collections.abc import Hashable
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlparse

from shipyard.exceptions import ArtifactPathError, InvalidInput, ResourceNotFound
from shipyard.lazy import load
from shipyard.tracking.entities import FileInfo

NO_STORE = ""
"""`ARTIFACT_REPOSITORIES`' value for a scheme that no Shipyard extra provides a store for."""

ARTIFACT_REPOSITORIES: dict[str, str] = {
    "file": "shipyard.tracking.artifacts:LocalArtifactRepository",
    "http": "shipyard.tracking.artifacts_http:HttpArtifactRepository",
    "https": "shipyard.tracking.artifacts_http:HttpArtifactRepository",
    "mlflow-artifacts": "shipyard.tracking.artifacts_http:HttpArtifactRepository",
    "s3": "shipyard.tracking.artifacts_s3:S3ArtifactRepository",
    "wasbs": "shipyard.tracking.artifacts_azure:AzureBlobArtifactRepository",
    "abfss": NO_STORE,
    "gs": NO_STORE,
    "hdfs": NO_STORE,
    "viewfs": NO_STORE,
    "dbfs": NO_STORE,
    "b2": NO_STORE,
    "r2": NO_STORE,
    "ftp": NO_STORE,
    "sftp": NO_STORE,
}
"""URI scheme -> artifact repository class (imported when a URI with that scheme is used), or
`shipyard[<extra>]` / `NO_STORE` for the object stores MLflow speaks that this Shipyard cannot."""

EXTRA_PREFIX = "shipyard["

STORE_EXTRAS: dict[str, tuple[str, str]] = {
    "s3": ("shipyard[s3]", "boto3"),
    "wasbs": ("shipyard[azure]", "azure-storage-blob"),
}
"""Scheme -> (the extra that installs its store's library, that library): a store whose library
is missing is an error naming both, never an ImportError from deep inside."""


def store_for_scheme(scheme: str) -> str:
    """The import string of `scheme`'s repository class; a scheme without one is `InvalidInput`
    naming it and the extra to install (or saying that none exists)."""
    target = ARTIFACT_REPOSITORIES.get(scheme)
    if target is None:
        raise InvalidInput(
            f"artifact URI scheme {scheme!r} is not supported; known schemes: {', '.join(schemes_with_store())}"
        )
    if target.startswith(EXTRA_PREFIX):
        raise InvalidInput(
            f"artifact URI scheme {scheme!r}: this Shipyard has no store for {scheme}:// yet (the extra "
            f"{target} provides it); use a local path, file:// or a tracking server's artifact proxy "
            "(mlflow-artifacts:/, http(s)://<server>/api/2.0/mlflow-artifacts/artifacts/...)"
        )
    if target == NO_STORE:
        raise InvalidInput(
            f"artifact URI scheme {scheme!r} has no store in Shipyard (no extra provides one); use a local "
            "path, file:// or a tracking server's artifact proxy (mlflow-artifacts:/, "
            "http(s)://<server>/api/2.0/mlflow-artifacts/artifacts/...)"
        )
    return target


def schemes_with_store() -> list[str]:
    """The schemes this Shipyard can read and write, sorted."""
    return sorted(key for key, value in ARTIFACT_REPOSITORIES.items() if value and not value.startswith(EXTRA_PREFIX))


def artifact_uri_scheme(uri: str) -> str:
    """The lower-cased scheme of an artifact URI; 'file' for a plain path (and a Windows drive)."""
    scheme = urlparse(uri).scheme.lower()
    return "file" if scheme == "" or (len(scheme) == 1 and os.name == "nt") else scheme


def path_to_file_uri(path: str | os.PathLike[str]) -> str:
    return Path(path).resolve().as_uri()


def file_uri_to_path(uri: str) -> Path:
    """`file:///a/b`, `file:/a/b` or a plain path -> a local path."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise InvalidInput(f"file URI {uri!r} names host {parsed.netloc!r}; only local files are supported")
        return Path(unquote(parsed.path))
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and os.name == "nt"):
        return Path(uri)
    raise InvalidInput(f"{uri!r} is not a file URI or a local path")


def safe_relative_path(path: str | None, *, what: str = "artifact_path") -> str:
    """Normalise a caller's artifact path to `a/b/c` ('' for the root), refusing escapes."""
    if path is None or path in ("", "."):
        return ""
    text = str(path).replace("\\", "/")
    if text.startswith("/") or PurePosixPath(text).is_absolute() or (len(text) > 1 and text[1] == ":"):
        raise ArtifactPathError(f"{what} {path!r} is absolute; artifact paths are relative to the run's root")
    parts = [part for part in text.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise ArtifactPathError(f"{what} {path!r} contains '..'; artifact paths must stay under the run's root")
    joined = "/".join(parts)
    _check_representable(joined, what)
    return joined


NAME_MAX_BYTES = 255
PATH_MAX_BYTES = 4096
"""Linux's limits (NAME_MAX, PATH_MAX) in UTF-8 bytes; an object store's keys are shorter still
once the root is added (S3: 1,024), so a longer path could be stored nowhere."""


def _check_representable(relative: str, what: str) -> None:
    """Refuse what no file system can hold (NUL, an unpaired surrogate, a name past NAME_MAX or a
    path past PATH_MAX): the OS would raise mid-write, a 500."""
    shown = relative if len(relative) <= 80 else relative[:80] + "..."
    if "\x00" in relative:
        raise ArtifactPathError(f"{what} {shown!r} contains a NUL character")
    try:
        encoded = relative.encode("utf-8")
    except UnicodeEncodeError:
        raise ArtifactPathError(f"{what} {shown!r} is not valid Unicode (an unpaired surrogate)") from None
    if len(encoded) > PATH_MAX_BYTES:
        raise ArtifactPathError(f"{what} {shown!r} is {len(encoded)} bytes; the limit is {PATH_MAX_BYTES}")
    for part in relative.split("/"):
        size = len(part.encode("utf-8"))
        if size > NAME_MAX_BYTES:
            raise ArtifactPathError(
                f"{what}: the name {part[:40]!r}... is {size} bytes; the limit per name is {NAME_MAX_BYTES}"
            )


def confined(root: Path, relative: str, *, what: str = "artifact_path") -> Path:
    """`root/relative`, after checking that resolving symlinks does not lead out of `root`."""
    root_resolved = root.resolve()
    target = root_resolved.joinpath(*relative.split("/")) if relative else root_resolved
    resolved = target.resolve()
    if resolved != root_resolved and root_resolved not in resolved.parents:
        raise ArtifactPathError(f"{what} {relative!r} leads outside the artifact root through a symlink")
    return target


def _check_source_tree(local_dir: Path) -> None:
    """Refuse to upload a folder holding symlinks that point outside it (they would copy in
    files the caller did not mean to publish)."""
    base = local_dir.resolve()
    for dirpath, dirnames, filenames in os.walk(local_dir):
        for name in dirnames + filenames:
            entry = Path(dirpath) / name
            if entry.is_symlink():
                resolved = entry.resolve()
                if resolved != base and base not in resolved.parents:
                    raise ArtifactPathError(f"{entry} is a symlink to {resolved}, outside the folder being logged")


class ArtifactRepository(abc.ABC):
    """Files under one root URI (a run's artifact URI, or a model version's storage)."""

    def __init__(self, artifact_uri: str) -> None:
        self.artifact_uri = artifact_uri

    @abc.abstractmethod
    def log_artifact(self, local_file: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        """Copy one local file to `<artifact_path>/<its name>`."""

    @abc.abstractmethod
    def log_artifacts(self, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        """Copy a local folder's contents under `artifact_path`."""

    @abc.abstractmethod
    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """Direct children of `path`, sorted by path; paths are relative to the root."""

    @abc.abstractmethod
    def download_artifacts(self, artifact_path: str = "", dst_path: str | os.PathLike[str] | None = None) -> str:
        """Copy a file or folder to `dst_path` (a new temporary folder if None); return its local path."""

    @abc.abstractmethod
    def delete_artifacts(self, artifact_path: str | None = None) -> None: ...

    def log_bytes(self, data: bytes, artifact_file: str) -> None:
        """Write `data` as `artifact_file` (a relative file path)."""
        relative = safe_relative_path(artifact_file, what="artifact_file")
        if not relative:
            raise ArtifactPathError("artifact_file must name a file, got an empty path")
        directory, name = posixpath.split(relative)
        with tempfile.TemporaryDirectory(prefix="shipyard-artifact-") as tmp:
            local = Path(tmp) / name
            local.write_bytes(data)
            self.log_artifact(local, directory or None)


class LocalArtifactRepository(ArtifactRepository):
    """A folder on the local file system (`file://` URIs and plain paths)."""

    def __init__(self, artifact_uri: str) -> None:
        super().__init__(artifact_uri)
        self.root = file_uri_to_path(artifact_uri)

    def _dest(self, artifact_path: str | None, *, what: str = "artifact_path") -> Path:
        return confined(self.root, safe_relative_path(artifact_path, what=what), what=what)

    def log_artifact(self, local_file: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        source = Path(local_file)
        if not source.is_file():
            raise ResourceNotFound(f"local_file {str(source)!r} is not a file")
        relative = safe_relative_path(artifact_path)
        confined(self.root, relative).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, confined(self.root, posixpath.join(relative, source.name)))

    def log_artifacts(self, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        source = Path(local_dir)
        if not source.is_dir():
            raise ResourceNotFound(f"local_dir {str(source)!r} is not a folder")
        _check_source_tree(source)
        dest = self._dest(artifact_path)
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copytree(source, dest, dirs_exist_ok=True)

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        relative = safe_relative_path(path, what="path")
        target = confined(self.root, relative, what="path")
        if not target.is_dir():
            return []
        infos = []
        for child in sorted(target.iterdir()):
            child_relative = posixpath.join(relative, child.name) if relative else child.name
            confined(self.root, child_relative, what="path")
            is_dir = child.is_dir()
            infos.append(FileInfo(child_relative, is_dir, None if is_dir else child.stat().st_size))
        return infos

    def download_artifacts(self, artifact_path: str = "", dst_path: str | os.PathLike[str] | None = None) -> str:
        relative = safe_relative_path(artifact_path)
        source = confined(self.root, relative)
        if not source.exists():
            raise ResourceNotFound(f"artifact {relative!r} does not exist under {self.artifact_uri}")
        dst_root = Path(dst_path) if dst_path is not None else Path(tempfile.mkdtemp(prefix="shipyard-download-"))
        dst_root.mkdir(parents=True, exist_ok=True)
        dest = dst_root / (source.name if relative else "")
        if source.is_dir():
            _check_source_tree(source)
            shutil.copytree(source, dest, dirs_exist_ok=True)
        else:
            shutil.copyfile(source, dest)
        return str(dest.resolve())

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        target = self._dest(artifact_path)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()


def get_artifact_repository(
    artifact_uri: str, http: Hashable = None, *, tracking_uri: str | None = None
) -> ArtifactRepository:
    """The repository for a URI, chosen by its scheme through `ARTIFACT_REPOSITORIES`.

    `http` (`rest_client.RestClientSettings`: credentials, TLS, retries, from the caller's
    settings) and `tracking_uri` (the server a host-less `mlflow-artifacts:/path` is on, as
    MLflow resolves it) go to classes with `remote = True`, the artifact proxy's."""
    scheme = artifact_uri_scheme(artifact_uri)
    target = store_for_scheme(scheme)
    try:
        repo_class: Any = load(target)
    except ModuleNotFoundError as error:
        extra = STORE_EXTRAS.get(scheme)
        if extra is None or error.name is None or error.name.startswith("shipyard"):
            raise
        raise InvalidInput(
            f"artifact URI scheme {scheme!r} needs {extra[1]} (module {error.name!r} is not installed): "
            f"pip install '{extra[0]}'"
        ) from None
    repository: ArtifactRepository = (
        repo_class(artifact_uri, http, tracking_uri=tracking_uri)
        if getattr(repo_class, "remote", False)
        else repo_class(artifact_uri)
    )
    return repository


__all__ = [
    "ARTIFACT_REPOSITORIES",
    "NO_STORE",
    "STORE_EXTRAS",
    "ArtifactRepository",
    "LocalArtifactRepository",
    "artifact_uri_scheme",
    "confined",
    "file_uri_to_path",
    "get_artifact_repository",
    "path_to_file_uri",
    "safe_relative_path",
    "schemes_with_store",
    "store_for_scheme",
]
