"""Artifacts through `shipyard server`'s proxy (or MLflow's): no shared filesystem, no cloud
credentials on the client, only HTTP.

URIs: `http(s)://host:port/api/2.0/mlflow-artifacts/artifacts/<path>` (what the REST store hands
out) and MLflow's spellings, resolved as MLflow does: `mlflow-artifacts:/<path>` is on the current
tracking server (`<tracking_uri>/api/2.0/mlflow-artifacts/artifacts/<path>`), and
`mlflow-artifacts://host:port/<path>` on that host (over the tracking URI's http or https).
Files stream both ways in 1 MiB chunks; a download goes to a temporary file renamed into place.
Large transfers show a progress bar when stderr is a terminal.
"""

from __future__ import annotations

import functools
import os
import posixpath
import tempfile
from pathlib import Path
from urllib.parse import quote, urlparse

from shipyard.exceptions import InvalidInput, ResourceNotFound
from shipyard.redact import mask_url
from shipyard.tracking.artifacts import ArtifactRepository, _check_source_tree, safe_relative_path
from shipyard.tracking.entities import FileInfo
from shipyard.tracking.http_settings import RestClientSettings
from shipyard.tracking.progress import progress_bar
from shipyard.tracking.rest_client import ARTIFACTS_API, CHUNK, RestClient


@functools.lru_cache(maxsize=64)
def client_for(base_url: str, http: RestClientSettings) -> RestClient:
    """One client (connection pool, the caller's credentials and retries) per server."""
    return RestClient(base_url, http)


def split_proxy_uri(uri: str, tracking_uri: str | None = None) -> tuple[str, str]:
    """(server base URL, path under the proxy root) of an artifact proxy URI; `tracking_uri`
    is the server a host-less `mlflow-artifacts:/path` is on."""
    parsed = urlparse(uri)
    if parsed.scheme == "mlflow-artifacts":
        path = safe_relative_path(parsed.path.lstrip("/"), what="artifact URI path")
        tracking = urlparse(tracking_uri or "")
        if parsed.netloc:
            return f"{'https' if tracking.scheme == 'https' else 'http'}://{parsed.netloc}", path
        if tracking.scheme not in ("http", "https"):
            raise InvalidInput(
                f"artifact URI {uri!r} names no server, and the tracking URI "
                f"{mask_url(tracking_uri) if tracking_uri else '(none)'!r} is not a tracking server; "
                "set the tracking URI to the server (http(s)://host:port) or write "
                "mlflow-artifacts://host:port/<path>"
            )
        return tracking_uri.rstrip("/") if tracking_uri else "", path
    if parsed.scheme in ("http", "https"):
        before, marker, after = uri.partition(ARTIFACTS_API)
        if not marker:
            raise InvalidInput(f"artifact URI {uri!r} is not an artifact proxy URL (no {ARTIFACTS_API} in it)")
        return before.rstrip("/"), safe_relative_path(after.split("?", 1)[0].lstrip("/"), what="artifact URI path")
    raise InvalidInput(f"artifact URI {uri!r} is not an artifact proxy URI")


class HttpArtifactRepository(ArtifactRepository):
    """The files under one proxy path, e.g. a run's `.../artifacts`."""

    remote = True
    """`get_artifact_repository` hands the constructor the caller's `RestClientSettings`."""

    def __init__(
        self, artifact_uri: str, http: RestClientSettings | None = None, *, tracking_uri: str | None = None
    ) -> None:
        """No `http` means no credentials and the default retries; `tracking_uri` places a
        host-less `mlflow-artifacts:/path`."""
        super().__init__(artifact_uri)
        self.base_url, self.root = split_proxy_uri(artifact_uri, tracking_uri)
        self.client = client_for(self.base_url, http or RestClientSettings())

    def _url(self, relative: str) -> str:
        full = posixpath.join(self.root, relative) if relative else self.root
        return f"{self.base_url}{ARTIFACTS_API}/{quote(full)}"

    def _upload(self, local: Path, relative: str) -> None:
        size = local.stat().st_size
        with open(local, "rb") as stream, progress_bar(f"upload {relative}", size) as advance:
            self.client.upload(self._url(relative), stream, size, advance)

    def log_artifact(self, local_file: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        source = Path(local_file)
        if not source.is_file():
            raise ResourceNotFound(f"local_file {str(source)!r} is not a file")
        self._upload(source, posixpath.join(safe_relative_path(artifact_path), source.name).lstrip("/"))

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
        full = posixpath.join(self.root, relative) if relative else self.root
        response = self.client.request("GET", ARTIFACTS_API, params={"path": full})
        infos = []
        for entry in response.json().get("files", []):
            name = safe_relative_path(entry["path"], what="listed path")
            child = posixpath.join(relative, name) if relative else name
            size = entry.get("file_size")
            infos.append(FileInfo(child, bool(entry.get("is_dir")), None if size is None else int(size)))
        if (
            len(infos) == 1
            and not infos[0].is_dir
            and relative
            and infos[0].path == posixpath.join(relative, posixpath.basename(relative))
        ):
            return []  # NOTE: the listing of a file is the file itself; MLflow answers [] here
        return sorted(infos, key=lambda info: info.path)

    def _download_file(self, relative: str, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        response = self.client.request("GET", self._url(relative), stream=True)
        total = int(response.headers.get("content-length") or 0)
        tmp = dest.with_name(f".{dest.name}.part")
        try:
            with response, open(tmp, "wb") as out, progress_bar(f"download {relative}", total) as advance:
                for chunk in response.iter_content(CHUNK):
                    out.write(chunk)
                    if advance is not None:
                        advance(len(chunk))
            os.replace(tmp, dest)
        finally:
            if tmp.exists():
                tmp.unlink()

    def _download_tree(self, relative: str, dest: Path) -> None:
        dest.mkdir(parents=True, exist_ok=True)
        for info in self.list_artifacts(relative or None):
            target = dest / posixpath.basename(info.path)
            if info.is_dir:
                self._download_tree(info.path, target)
            else:
                self._download_file(info.path, target)

    def download_artifacts(self, artifact_path: str = "", dst_path: str | os.PathLike[str] | None = None) -> str:
        relative = safe_relative_path(artifact_path)
        dst_root = Path(dst_path) if dst_path is not None else Path(tempfile.mkdtemp(prefix="shipyard-download-"))
        dst_root.mkdir(parents=True, exist_ok=True)
        if not relative:
            self._download_tree("", dst_root)
            return str(dst_root.resolve())
        dest = dst_root / posixpath.basename(relative)
        if self.list_artifacts(relative):
            self._download_tree(relative, dest)
        else:
            self._download_file(relative, dest)
        return str(dest.resolve())

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        self.client.request("DELETE", self._url(safe_relative_path(artifact_path)))


__all__ = ["HttpArtifactRepository", "client_for", "progress_bar", "split_proxy_uri"]
