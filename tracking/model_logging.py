"""`<flavor>.log_model`: save a model directory with the flavor's `save_model`, then log it as
artifacts of the active run (or `run_id`) under `name`, and return where it went.

The registry plugs in through `REGISTER_MODEL` (one import string, called only when a caller
passes `registered_model_name`), so tracking does not import the registry.
"""
from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.exceptions import InvalidInput, InvalidState
from shipyard.lazy import load
from shipyard.tracking import fluent, system_tags
from shipyard.tracking.artifacts import get_artifact_repository, safe_relative_path
from shipyard.tracking.async_logging import writer_for

REGISTER_MODEL = "shipyard.registry.client:RegistryClient"
"""`module:attr` of a class built as `cls(tracking_uri=...)` whose `register_model(model_uri, name)`
returns a model version (with a `version` attribute); the registry provides it."""


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


def _register(model_uri: str, name: str, tracking_uri: str) -> Any:
    try:
        registry_client = load(REGISTER_MODEL)
    except (ImportError, AttributeError):
        raise InvalidState(
            f"registered_model_name={name!r} needs the model registry, which is not available "
            f"({REGISTER_MODEL} cannot be imported)"
        ) from None
    return registry_client(tracking_uri=tracking_uri).register_model(model_uri, name)


def log_model(
    flavor_module: str,
    model: Any,
    name: str | None = None,
    *,
    artifact_path: str | None = None,
    registered_model_name: str | None = None,
    run_id: str | None = None,
    **save_kwargs: Any,
) -> ModelInfo:
    """Save `model` with `<flavor_module>.save_model(model, path, **save_kwargs)` and log it.

    `name` (MLflow 3) and `artifact_path` (MLflow 2) are the same thing; give one.
    """
    save_model = load(f"{flavor_module}:save_model")
    return log_model_dir(
        lambda path: save_model(model, path, **save_kwargs),
        name or artifact_path,
        artifact_path=artifact_path if name else None,
        registered_model_name=registered_model_name,
        run_id=run_id,
    )


def flavor_log_model(flavor_module: str) -> Callable[..., ModelInfo]:
    """The `log_model` of a root facade (`shipyard.sklearn.log_model`, ...)."""

    def log_flavor_model(
        model: Any,
        name: str | None = None,
        *,
        artifact_path: str | None = None,
        registered_model_name: str | None = None,
        run_id: str | None = None,
        **save_kwargs: Any,
    ) -> ModelInfo:
        return log_model(
            flavor_module, model, name, artifact_path=artifact_path,
            registered_model_name=registered_model_name, run_id=run_id, **save_kwargs,
        )

    log_flavor_model.__name__ = log_flavor_model.__qualname__ = "log_model"
    log_flavor_model.__doc__ = (
        f"Save `model` with `{flavor_module}.save_model` (keyword arguments such as signature and "
        "input_example go to it), log the directory as artifacts of the active run under `name`, "
        "and return a ModelInfo whose model_uri is runs:/<run_id>/<name>. With "
        "registered_model_name the logged model is also registered as a new version."
    )
    return log_flavor_model


def log_python_model(
    name: str | None = None,
    python_model: Any = None,
    *,
    artifact_path: str | None = None,
    registered_model_name: str | None = None,
    run_id: str | None = None,
    **save_kwargs: Any,
) -> ModelInfo:
    """`shipyard.pyfunc.log_model`: log a custom `PythonModel` (MLflow's argument order)."""
    from shipyard.flavors import python_model as flavor

    if python_model is None:
        raise InvalidInput("python_model is required (an object with a predict method)")
    return log_model_dir(
        lambda path: flavor.save_model(path, python_model, **save_kwargs),
        name or artifact_path,
        artifact_path=artifact_path if name else None,
        registered_model_name=registered_model_name,
        run_id=run_id,
    )


def log_model_dir(
    save: Callable[[Path], Any],
    name: str | None,
    *,
    artifact_path: str | None = None,
    registered_model_name: str | None = None,
    run_id: str | None = None,
) -> ModelInfo:
    """Run `save(path)` into a temporary folder, record the run in its MLmodel, log the folder
    under `name`, and register it when asked."""
    from shipyard.flavors.mlmodel import MLMODEL_FILE_NAME, Model

    if name is not None and artifact_path is not None and name != artifact_path:
        raise InvalidInput(f"give name or artifact_path, not both (got {name!r} and {artifact_path!r})")
    relative = safe_relative_path(name or "model", what="name")
    if not relative:
        raise InvalidInput("name must be a non-empty relative path such as 'model'")
    if run_id is None:
        active = fluent.active_run_or_start()
        run_id, artifact_uri, store = active.run_id, active.info.artifact_uri, active.store
    else:
        store = fluent.current_store()
        artifact_uri = store.get_run(run_id).info.artifact_uri
    with tempfile.TemporaryDirectory(prefix="shipyard-log-model-") as tmp:
        local = Path(tmp) / "model"
        save(local)
        mlmodel = Model.load(local / MLMODEL_FILE_NAME)
        mlmodel.run_id = run_id
        mlmodel.artifact_path = relative
        mlmodel.save(local / MLMODEL_FILE_NAME)
        get_artifact_repository(artifact_uri).log_artifacts(local, relative)
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
        version = _register(info.model_uri, registered_model_name, tracking_uri)
        number = getattr(version, "version", version)
        info = ModelInfo(**{**info.__dict__, "registered_model_version": int(number)})
    return info


def _append_model_history(store: Any, run_id: str, entry: dict[str, Any]) -> None:
    """Keep MLflow's `mlflow.log-model.history` tag: a JSON list of the run's logged models."""
    writer = writer_for(store)
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


__all__ = [
    "REGISTER_MODEL",
    "ModelInfo",
    "flavor_log_model",
    "log_model",
    "log_model_dir",
    "log_python_model",
]
