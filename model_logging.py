"""`<flavor>.log_model`'s one body: save a model directory with the flavor's `save_model`, then log it as
artifacts of the active run (or `run_id`) under `name`, register it when asked, and return where
it went.

This is where the root facades (`shipyard.sklearn`, `shipyard.pyfunc`, ...) compose the three
parts below them: flavors save, tracking logs, the registry registers. None of those parts knows
of the others; the design's import graph allows only this direction.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.exceptions import InvalidInput
from shipyard.flavors.mlmodel import MLMODEL_FILE_NAME, Model
from shipyard.registry.client import RegistryClient
from shipyard.tracking import fluent, system_tags
from shipyard.tracking.artifacts import get_artifact_repository, safe_relative_path
from shipyard.tracking.async_logging import writer_for
from shipyard.tracking.fluent_state import current_store, process_http, process_settings


@dataclass(frozen=True)
class ModelInfo:
    """What `log_model` returns (MLflow's `ModelInfo` fields)."""

    artifact_path: str
    flavors: dict[str, dict[str, Any]]
    model_uri: str
    model_uuid: str
    run_id: str
    signature: Any = None
    saved_input_example_info: dict[str, Any] | None = None
    utc_time_created: str | None = None
    shipyard_version: str | None = None
    metadata: dict[str, Any] | None = None
    registered_model_version: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.artifact_path


def log_model_dir(
    save: Callable[[Path], Any],
    name: str | None,
    *,
    artifact_path: str | None = None,
    registered_model_name: str | None = None,
    run_id: str | None = None,
) -> ModelInfo:
    """Run `save(path)` into a temporary folder, record the run in its MLmodel, log the folder
    under `name` (MLflow 3; MLflow 2's `artifact_path` is the same thing), and register it when asked."""
    if name is not None and artifact_path is not None and name != artifact_path:
        raise InvalidInput(f"give name or artifact_path, not both (got {name!r} and {artifact_path!r})")
    relative = safe_relative_path(name or artifact_path or "model", what="name")
    if not relative:
        raise InvalidInput("name must be a non-empty relative path such as 'model'")
    if run_id is None:
        active = fluent.active_run_or_start()
        run_id, artifact_uri, store = active.run_id, active.info.artifact_uri, active.store
    else:
        store = current_store()
        artifact_uri = store.get_run(run_id).info.artifact_uri
    with tempfile.TemporaryDirectory(prefix="shipyard-log-model-") as tmp:
        local = Path(tmp) / "model"
        save(local)
        mlmodel = Model.load(local / MLMODEL_FILE_NAME)
        mlmodel.run_id = run_id
        mlmodel.artifact_path = relative
        mlmodel.save(local / MLMODEL_FILE_NAME)
        get_artifact_repository(artifact_uri, process_http()).log_artifacts(local, relative)
    history = {
        "run_id": run_id,
        "artifact_path": relative,
        "utc_time_created": mlmodel.utc_time_created,
        "flavors": mlmodel.flavors,
        "model_uuid": mlmodel.model_uuid,
    }
    _append_model_history(store, run_id, history)
    info = ModelInfo(
        artifact_path=relative,
        flavors=mlmodel.flavors,
        model_uri=f"runs:/{run_id}/{relative}",
        model_uuid=mlmodel.model_uuid,
        run_id=run_id,
        signature=mlmodel.signature,
        saved_input_example_info=mlmodel.saved_input_example_info,
        utc_time_created=mlmodel.utc_time_created,
        shipyard_version=mlmodel.shipyard_version,
        metadata=mlmodel.metadata,
    )
    if registered_model_name is not None:
        tracking_uri = getattr(store, "uri", None) or fluent.get_tracking_uri()
        version = RegistryClient(tracking_uri=tracking_uri).register_model(info.model_uri, registered_model_name)
        info = ModelInfo(**{**info.__dict__, "registered_model_version": int(version.version)})
    return info


def _append_model_history(store: Any, run_id: str, entry: dict[str, Any]) -> None:
    """Keep MLflow's `mlflow.log-model.history` tag: a JSON list of the run's logged models."""
    writer = writer_for(store, process_settings().cache_dir)
    writer.flush()
    tags = store.get_run(run_id).data.tags
    try:
        history = json.loads(tags.get(system_tags.LOGGED_MODELS, "[]"))
    except json.JSONDecodeError:
        history = []
    history.append(entry)
    text = json.dumps(history, default=str)
    while len(text) > 8000 and len(history) > 1:  # NOTE: tag values are capped at 8,000 characters
        history.pop(0)
        text = json.dumps(history, default=str)
    writer.queue_tag(run_id, system_tags.LOGGED_MODELS, text)


__all__ = ["ModelInfo", "log_model_dir"]
