"""Where an MLflow database's artifacts are: recorded roots, `--artifacts DIR`, version folders.

MLflow records each experiment's `artifact_location` as `<artifact root>/<experiment id>` (a
path, a `file://` URI, `mlflow-artifacts:/<id>` behind a proxying server, or an object store).
`--artifacts DIR` replaces that recorded root's prefix, so a database moved to another machine,
or a server's `--artifacts-destination`, can be read from where its files are now.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import urlparse

from shipyard.exceptions import InvalidInput, ResourceNotFound
from shipyard.registry.registration import MLMODEL_FILE_NAME
from shipyard.tracking.artifacts import file_uri_to_path, path_to_file_uri


def _plain(uri: str) -> str:
    """A `file://` URI as its path; anything else as written, without a trailing slash."""
    if uri.startswith("file:"):
        return str(file_uri_to_path(uri))
    return uri.rstrip("/")


def recorded_roots(experiments: Iterable[tuple[str, str | None]]) -> list[str]:
    """The artifact roots behind (experiment id, artifact_location) pairs, longest first."""
    roots = set()
    for experiment_id, location in experiments:
        if not location:
            continue
        plain = _plain(location)
        head, _, tail = plain.rpartition("/")
        roots.add(head if tail == str(experiment_id) and head else plain)
    return sorted(roots, key=len, reverse=True)


class ArtifactLocator:
    """Maps the URIs an MLflow database records to where the files are read from now."""

    def __init__(self, roots: list[str], replacement: Path | None) -> None:
        self.roots = roots
        self.replacement = replacement.resolve() if replacement is not None else None

    def rewrite(self, uri: str | None) -> str | None:
        """The recorded URI with its root replaced by `--artifacts DIR` (as a file URI); the
        recorded URI unchanged when no DIR is given or no root matches."""
        if uri is None or self.replacement is None:
            return uri
        plain = _plain(uri)
        for root in self.roots:
            if plain == root or plain.startswith(root.rstrip("/") + "/"):
                rest = plain[len(root) :].lstrip("/")
                return path_to_file_uri(self.replacement / rest if rest else self.replacement)
        return uri

    def local_dir(self, uri: str, *, what: str) -> Path:
        """The local folder a recorded URI names (after `rewrite`), which must hold an MLmodel."""
        rewritten = self.rewrite(uri) or uri
        scheme = urlparse(rewritten).scheme
        if scheme not in ("", "file"):
            hint = "" if self.replacement else "; pass --artifacts DIR with the folder its artifact root names"
            raise InvalidInput(f"{what}: its files are at {rewritten!r}, which is not a local folder{hint}")
        path = file_uri_to_path(rewritten)
        if not (path / MLMODEL_FILE_NAME).is_file():
            hint = "" if self.replacement else " (if the artifacts moved, pass --artifacts DIR)"
            raise ResourceNotFound(f"{what}: no {MLMODEL_FILE_NAME} file in {str(path)!r}{hint}")
        return path


def version_source(
    storage_location: str | None,
    source: str | None,
    run_artifacts: Mapping[str, str | None],
    logged_models: Mapping[str, str | None],
    *,
    what: str,
) -> str:
    """Where a version's files were recorded: MLflow's `storage_location` when it has one (2.13+),
    else the `source`, with `runs:/<id>/<path>` and `models:/m-<id>` followed to their folders."""
    if storage_location:
        return storage_location
    if not source:
        raise InvalidInput(f"{what} records neither a storage_location nor a source")
    if source.startswith("runs:/"):
        run_id, _, path = source[len("runs:/") :].lstrip("/").partition("/")
        base = run_artifacts.get(run_id)
        if not base:
            raise ResourceNotFound(
                f"{what}: its source {source!r} names run {run_id!r}, which the database does not have"
            )
        return f"{base.rstrip('/')}/{path}" if path else base
    if source.startswith("models:/m-"):
        model_id = source[len("models:/") :].strip("/")
        location = logged_models.get(model_id)
        if not location:
            raise ResourceNotFound(f"{what}: its source {source!r} names a logged model the database does not have")
        return location
    return source


__all__ = ["ArtifactLocator", "recorded_roots", "version_source"]
