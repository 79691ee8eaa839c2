"""Server-side artifact locations <-> the proxied URIs clients see.

The database keeps real locations (`file:///srv/artifacts/1/<run>/artifacts`), so the same
database still works for local use; the server hands clients `mlflow-artifacts:/1/<run>/artifacts`
and maps such URIs back, confined to the artifact root. A client never learns a server path and
can never make the server write outside its root.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from shipyard.exceptions import InvalidInput
from shipyard.tracking.artifacts import confined, file_uri_to_path, path_to_file_uri, safe_relative_path

PROXY_SCHEME = "mlflow-artifacts"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")


def has_scheme(uri: str) -> bool:
    """`s3://b`, `runs:/x`, `file:/x` have one; `/a/b`, `a/b` and Windows' `C:/a` do not."""
    return bool(_SCHEME.match(uri))


class ArtifactUris:
    """The translation for one server, whose artifacts all live under `root` (a local folder) or
    under `root_uri` in an object store (`s3://bucket/path`; then `root` is None)."""

    def __init__(self, root: Path | None, *, root_uri: str | None = None, serve: bool = True) -> None:
        """`serve=False` (`--no-serve-artifacts`): clients are told the real locations."""
        self.root = root.resolve() if root is not None else None
        self.root_uri = path_to_file_uri(self.root) if self.root is not None else (root_uri or "").rstrip("/")
        self.serve = serve

    def to_client(self, uri: str | None) -> str | None:
        """`file:///root/x` (or `s3://bucket/root/x`) -> `mlflow-artifacts:/x`; other locations,
        and every location when artifacts are not served, are passed through."""
        if not uri or not self.serve:
            return uri
        if uri == self.root_uri or uri.startswith(self.root_uri + "/"):
            return f"{PROXY_SCHEME}:/{uri[len(self.root_uri) :].lstrip('/')}"
        return uri

    def relative_of(self, uri: str, *, what: str) -> str:
        """The path under the root that a client's `mlflow-artifacts:` (or our file) URI names."""
        if uri.startswith(f"{PROXY_SCHEME}:"):
            rest = uri[len(PROXY_SCHEME) + 1 :]
            if rest.startswith("//"):  # mlflow-artifacts://host:port/path
                rest = "/" + rest[2:].partition("/")[2]
            return safe_relative_path(rest.lstrip("/"), what=what)
        if not has_scheme(uri) and not PurePosixPath(uri).is_absolute():
            # NOTE: MLflow resolves a relative location against the server's working directory;
            # Shipyard writes only under its artifact root, so it resolves it against the root.
            return safe_relative_path(uri, what=what)
        if self.root is None:
            if uri == self.root_uri or uri.startswith(self.root_uri + "/"):
                return safe_relative_path(uri[len(self.root_uri) :].lstrip("/"), what=what)
        elif uri.startswith("file:") or not has_scheme(uri):
            path = file_uri_to_path(uri).resolve()
            if path == self.root or self.root in path.parents:
                return path.relative_to(self.root).as_posix()
        raise InvalidInput(
            f"{what} {uri!r} is not allowed; this server keeps artifacts under its own root: "
            f"give a {PROXY_SCHEME}:/<path> URI or a path relative to the root"
        )

    def to_server(self, uri: str, *, what: str) -> str:
        """A client's `mlflow-artifacts:/x` -> `file:///root/x` or `s3://bucket/root/x` (refusing escapes)."""
        relative = self.relative_of(uri, what=what)
        if self.root is None:
            return f"{self.root_uri}/{relative}" if relative else self.root_uri
        return path_to_file_uri(confined(self.root, relative, what=what))

    def local_path(self, uri: str, *, what: str) -> Path:
        if self.root is None:
            raise InvalidInput(f"{what} {uri!r}: this server keeps artifacts in {self.root_uri}, not in a local folder")
        return confined(self.root, self.relative_of(uri, what=what), what=what)


__all__ = ["ArtifactUris", "PROXY_SCHEME", "has_scheme"]
