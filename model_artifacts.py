"""A logged model's files reached by URI: a local directory to load from, and `set_signature`.

The flavors read and write local model directories only; these facade functions turn MLflow's
model URIs (runs:/, models:/, file:// and paths) into one, so every `<flavor>.load_model` takes
what `mlflow.<flavor>.load_model` takes.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from shipyard.exceptions import InvalidInput
from shipyard.flavors.mlmodel import MLMODEL_FILE_NAME, Model
from shipyard.flavors.signature import ModelSignature
from shipyard.registry.uris import parse_runs_uri, resolve_model_uri
from shipyard.tracking.artifacts import (
    ArtifactRepository,
    artifact_uri_scheme,
    get_artifact_repository,
    safe_relative_path,
)
from shipyard.tracking.fluent_state import current_store, get_tracking_uri, process_http, process_settings


def model_dir_for(model_uri: str | Path, dst_path: str | Path | None = None) -> Path:
    """The local, verified directory `model_uri` names; with `dst_path` (MLflow's download
    folder) a copy of it under `dst_path`, as MLflow downloads there before loading.

    An edge of the public API: the settings are the process's (built on first use)."""
    resolved = resolve_model_uri(model_uri, settings=process_settings(), tracking_uri=get_tracking_uri())
    if dst_path is None:
        return resolved.local_path
    target = Path(dst_path) / resolved.local_path.name
    shutil.copytree(resolved.local_path, target, dirs_exist_ok=True)
    return target


def pickle_policy(allow_pickle: bool | None) -> bool:
    """`allow_pickle` as a `load_model` caller gave it, else the process's policy
    (`SHIPYARD_ALLOW_PICKLE`)."""
    return process_settings().allow_pickle if allow_pickle is None else allow_pickle


def skops_trust_policy(trusted_types: Sequence[str] | None) -> tuple[str, ...]:
    """`trusted_types` as a `load_model` caller gave it, else the process's
    (`SHIPYARD_SKOPS_TRUSTED_TYPES`): the loading side's skops trust."""
    return process_settings().skops_trusted_types if trusted_types is None else tuple(trusted_types)


def set_signature(model_uri: str | Path, signature: ModelSignature) -> None:
    """Write `signature` into the MLmodel of a logged model (a runs:/ URI, an artifact URI such as
    mlflow-artifacts:/...) or a local model directory.

    Like MLflow, a registered version (models:/) is refused: its files are immutable (digest-checked);
    register a new version from the logged model instead."""
    if not isinstance(signature, ModelSignature):
        raise InvalidInput(f"signature must be a ModelSignature, got {type(signature).__name__}")
    text = str(model_uri)
    if text.startswith("models:/"):
        raise InvalidInput(
            f"cannot set a signature on {text!r}: registered model versions are immutable; set it on the "
            "logged model (runs:/<run_id>/<path>) and register a new version"
        )
    if text.startswith("runs:/"):
        run_id, artifact_path = parse_runs_uri(text)
        repo = get_artifact_repository(current_store().get_run(run_id).info.artifact_uri, process_http())
        _rewrite_in(repo, safe_relative_path(artifact_path), signature)
    elif artifact_uri_scheme(text) == "file":
        local = resolve_model_uri(text, settings=process_settings()).local_path
        _rewrite(local / MLMODEL_FILE_NAME, signature)
    else:  # NOTE: a remote model (mlflow-artifacts:/, the proxy's URL) is rewritten there, not in the cache
        repo = get_artifact_repository(text, process_http(), tracking_uri=get_tracking_uri())
        _rewrite_in(repo, "", signature)


def _rewrite_in(repo: ArtifactRepository, relative: str, signature: ModelSignature) -> None:
    """Download the MLmodel under `relative`, set the signature, upload it back."""
    with tempfile.TemporaryDirectory(prefix="shipyard-set-signature-") as tmp:
        file_path = "/".join(p for p in (relative, MLMODEL_FILE_NAME) if p)
        local_file = Path(repo.download_artifacts(file_path, tmp))
        _rewrite(local_file, signature)
        repo.log_artifact(local_file, relative or None)


def _rewrite(mlmodel_file: Path, signature: ModelSignature) -> None:
    model = Model.load(mlmodel_file)
    model.signature = signature
    model.save(mlmodel_file)


__all__ = ["model_dir_for", "pickle_policy", "set_signature", "skops_trust_policy"]
