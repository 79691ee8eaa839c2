"""Server-side artifact locations <-> the proxied URIs clients see.

The database keeps real locations (`file:///srv/artifacts/1/<run>/artifacts`), so the same
database still works for local use; the server hands clients `mlflow-artifacts:/1/<run>/artifacts`
and maps such URIs back, confined to the artifact root. A client never learns a server path and
can never make the server write outside its root.
"""

from __future__ import annotations

from pathlib import Path

from shipyard.exceptions import InvalidInput
from shipyard.tracking.artifacts import confined, file_uri_to_path, path_to_file_uri, safe_relative_path

PROXY_SCHEME = "mlflow-artifacts"


class ArtifactUris:
    """The translation for one server, whose artifacts all live under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root_uri = path_to_file_uri(self.root)

    def to_client(self, uri: str | None) -> str | None:
        """`file:///root/x` -> `mlflow-artifacts:/x`; other locations are passed through."""
        if not uri:
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
        if uri.startswith("file:"):
            path = file_uri_to_path(uri).resolve()
            if path == self.root or self.root in path.parents:
                return path.relative_to(self.root).as_posix()
        raise InvalidInput(
            f"{what} {uri!r} is not allowed; this server keeps artifacts under its own root: "
            f"give a {PROXY_SCHEME}:/<path> URI"
        )

    def to_server(self, uri: str, *, what: str) -> str:
        """A client's `mlflow-artifacts:/x` -> `file:///root/x` (refusing escapes)."""
        relative = self.relative_of(uri, what=what)
        return path_to_file_uri(confined(self.root, relative, what=what))

    def local_path(self, uri: str, *, what: str) -> Path:
        return confined(self.root, self.relative_of(uri, what=what), what=what)


__all__ = ["ArtifactUris", "PROXY_SCHEME"]
