"""`shipyard.keras`: save, log and load Keras 3 models, `.keras` files on any backend (mirrors `mlflow.keras`).

Every function takes MLflow's parameters in MLflow's order (MLflow 2's `artifact_path` and
MLflow 3's `name` alike); the ones Shipyard cannot honour are refused with the reason in
`shipyard.mlflow_names.UNSUPPORTED`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipyard.flavors import keras as _flavor
from shipyard.flavors.keras import save_model
from shipyard.flavors.signature import ModelSignature
from shipyard.mlflow_names import refuses
from shipyard.model_artifacts import model_dir_for
from shipyard.model_logging import ModelInfo, log_model_dir


@refuses("conda_env", "params", "tags", "model_type", "step", "model_id")
def log_model(
    model: Any,
    artifact_path: str | None = None,
    save_exported_model: bool = False,
    conda_env: Any = None,
    signature: ModelSignature | None | bool = None,
    input_example: Any = None,
    registered_model_name: str | None = None,
    await_registration_for: int = 300,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    save_model_kwargs: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    name: str | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
    *,
    run_id: str | None = None,
) -> ModelInfo:
    """Save `model`, log it under `name` (or `artifact_path`) of the active run (or `run_id`),
    and register it as a new version of `registered_model_name` when given.

    `await_registration_for` is honoured trivially: registration finishes before this returns."""
    return log_model_dir(
        lambda path: save_model(
            model,
            path,
            save_exported_model=save_exported_model,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            save_model_kwargs=save_model_kwargs,
            metadata=metadata,
        ),
        name,
        artifact_path=artifact_path,
        registered_model_name=registered_model_name,
        run_id=run_id,
    )


def load_model(
    model_uri: str | Path,
    dst_path: str | Path | None = None,
    custom_objects: dict[str, Any] | None = None,
    load_model_kwargs: dict[str, Any] | None = None,
) -> Any:
    """The `keras.Model` behind a model URI (runs:/, models:/, file:// or a path); `.keras`
    files hold no pickle, so no pickle policy applies."""
    return _flavor.load_model(model_dir_for(model_uri, dst_path), custom_objects, load_model_kwargs)


__all__ = ["load_model", "log_model", "save_model"]
