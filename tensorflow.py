"""`shipyard.tensorflow`: save, log and load Keras 3 models and TensorFlow SavedModels (mirrors `mlflow.tensorflow`).

Keras 3 models need only keras and a backend; `tf.Module`s and SavedModels need TensorFlow and
say so when it is missing. Every function takes MLflow's parameters in MLflow's order; the ones
Shipyard cannot honour are refused with the reason in `shipyard.mlflow_names.UNSUPPORTED`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipyard.flavors import tensorflow as _flavor
from shipyard.flavors.signature import ModelSignature
from shipyard.flavors.tensorflow import save_model
from shipyard.mlflow_names import refuses
from shipyard.model_artifacts import model_dir_for
from shipyard.model_logging import ModelInfo, log_model_dir


@refuses("conda_env", "extra_files", "params", "tags", "model_type", "step", "model_id")
def log_model(
    model: Any,
    artifact_path: str | None = None,
    custom_objects: dict[str, Any] | None = None,
    conda_env: Any = None,
    code_paths: list[str | Path] | None = None,
    signature: ModelSignature | None | bool = None,
    input_example: Any = None,
    registered_model_name: str | None = None,
    await_registration_for: int = 300,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    saved_model_kwargs: dict[str, Any] | None = None,
    keras_model_kwargs: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    extra_files: Any = None,
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
            custom_objects=custom_objects,
            code_paths=code_paths,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            saved_model_kwargs=saved_model_kwargs,
            keras_model_kwargs=keras_model_kwargs,
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
    saved_model_kwargs: dict[str, Any] | None = None,
    keras_model_kwargs: dict[str, Any] | None = None,
) -> Any:
    """The `keras.Model` behind a model URI (runs:/, models:/, file:// or a path), or what
    `tf.saved_model.load` returns for a SavedModel."""
    return _flavor.load_model(model_dir_for(model_uri, dst_path), saved_model_kwargs, keras_model_kwargs)


__all__ = ["load_model", "log_model", "save_model"]
