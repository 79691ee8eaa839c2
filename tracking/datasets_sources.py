"""Where a dataset came from, in MLflow's `DatasetSource` shapes (`to_json()` and
`_get_source_type()`), so the `source` / `source_type` a run records read as MLflow's do."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from shipyard.exceptions import InvalidInput

URI_SOURCE_TYPES: dict[str, str] = {
    "": "local",
    "file": "local",
    "s3": "s3",
    "gs": "gs",
    "wasbs": "wasbs",
    "abfss": "abfss",
    "hdfs": "hdfs",
    "ftp": "ftp",
}
"""URI scheme -> MLflow's source type for the sources recorded as `{"uri": ...}`."""

HTTP_SCHEMES = frozenset({"http", "https"})


class _JsonSource:
    """`to_json()`, which MLflow's sources write as the JSON of `to_dict()`."""

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


@dataclass(frozen=True)
class CodeDatasetSource(_JsonSource):
    """The code that built the dataset (MLflow's `code` source): the run context tags."""

    tags: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def _get_source_type() -> str:
        return "code"

    def to_dict(self) -> dict[str, Any]:
        return {"tags": dict(self.tags)}


@dataclass(frozen=True)
class UriDatasetSource(_JsonSource):
    """A file or object-store location (MLflow's local / s3 / gs / ... artifact sources)."""

    uri: str
    source_type: str

    def _get_source_type(self) -> str:
        return self.source_type

    def to_dict(self) -> dict[str, Any]:
        return {"uri": self.uri}


@dataclass(frozen=True)
class HTTPDatasetSource(_JsonSource):
    """An http(s) URL (MLflow's `http` source)."""

    url: str

    @staticmethod
    def _get_source_type() -> str:
        return "http"

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url}


DatasetSource = CodeDatasetSource | UriDatasetSource | HTTPDatasetSource


def resolve_source(raw: Any, function: str) -> Any:
    """A source object as given (anything with `to_json` and `_get_source_type`), or one parsed
    from a path / URI string as MLflow's resolver reads it; other schemes are refused."""
    if hasattr(raw, "to_json") and hasattr(raw, "_get_source_type"):
        return raw
    if isinstance(raw, Path):
        raw = str(raw)
    if not isinstance(raw, str) or not raw:
        raise InvalidInput(
            f"{function}: parameter 'source' must be a path, a URI or a DatasetSource, got {type(raw).__name__}"
        )
    scheme = urlparse(raw).scheme.lower()
    if len(scheme) == 1:  # NOTE: a Windows drive letter ("C:\\data.csv") is a local path
        scheme = ""
    if scheme in HTTP_SCHEMES:
        return HTTPDatasetSource(raw)
    if scheme in URI_SOURCE_TYPES:
        return UriDatasetSource(raw, URI_SOURCE_TYPES[scheme])
    allowed = ", ".join(sorted(s for s in (*URI_SOURCE_TYPES, *HTTP_SCHEMES) if s))
    raise InvalidInput(
        f"{function}: parameter 'source' has the unsupported scheme {scheme!r} ({raw!r}); "
        f"use a local path or one of: {allowed}"
    )


__all__ = [
    "URI_SOURCE_TYPES",
    "CodeDatasetSource",
    "DatasetSource",
    "HTTPDatasetSource",
    "UriDatasetSource",
    "resolve_source",
]
