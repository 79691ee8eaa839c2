"""The one place `build-docker` turns a model URI into files plus the identity its labels record."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from shipyard.exceptions import ResourceNotFound
from shipyard.flavors.mlmodel import MLMODEL_FILE_NAME, Model
from shipyard.registry.digest import compute_digest
from shipyard.registry.uris import ResolvedModel, resolve_model_uri
from shipyard.settings import Settings


def resolve_model(uri: str, *, settings: Settings) -> ResolvedModel:
    """Resolve through the registry; fill what a plain directory leaves unknown.

    A `models:/` URI gives the registered name, version, digest and run; a path gets its
    directory name, the registry's digest of its contents and the run id its MLmodel records,
    so every image says exactly which bytes it serves.
    """
    resolved = resolve_model_uri(uri, settings=settings)
    path = Path(resolved.local_path)
    if not (path / MLMODEL_FILE_NAME).is_file():
        raise ResourceNotFound(
            f"model {uri!r}: {str(path)!r} has no {MLMODEL_FILE_NAME} file; pass a model "
            "directory, file://, models:/ or runs:/ URI"
        )
    return dataclasses.replace(
        resolved,
        name=resolved.name or path.name,
        digest=resolved.digest or compute_digest(path),
        run_id=resolved.run_id or Model.load(path).run_id,
        source_uri=resolved.source_uri or uri,
    )


__all__ = ["resolve_model"]
