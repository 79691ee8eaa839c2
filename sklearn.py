"""`shipyard.sklearn`: save, log and load scikit-learn estimators (mirrors `mlflow.sklearn`).

Every function takes MLflow's parameters in MLflow's order (MLflow 2's `artifact_path` and
MLflow 3's `name` alike); the ones Shipyard cannot honour are refused with the reason in
`shipyard.mlflow_names.UNSUPPORTED`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipyard.autologging.sklearn import autolog
from shipyard.flavors import sklearn as _flavor
from shipyard.flavors.signature import ModelSignature
from shipyard.flavors.sklearn import (
    SERIALIZATION_FORMAT_CLOUDPICKLE,
    SERIALIZATION_FORMAT_PICKLE,
    SERIALIZATION_FORMAT_SKOPS,
    SUPPORTED_SERIALIZATION_FORMATS,
    save_model,
)
from shipyard.mlflow_names import refuses
from shipyard.model_artifacts import model_dir_for, pickle_policy, skops_trust_policy
from shipyard.model_logging import ModelInfo, log_model_dir


@refuses("conda_env", "extra_files", "params", "tags", "model_type", "step", "model_id")
def log_model(
    sk_model: Any,
    artifact_path: str | None = None,
    conda_env: Any = None,
    code_paths: list[str | Path] | None = None,
    serialization_format: str | None = None,
    registered_model_name: str | None = None,
    signature: ModelSignature | None | bool = None,
    input_example: Any = None,
    await_registration_for: int = 300,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict[str, Any] | None = None,
    extra_files: Any = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
    name: str | None = None,
    skops_trusted_types: list[str] | None = None,
    *,
    run_id: str | None = None,
) -> ModelInfo:
    """Save `sk_model`, log it under `name` (or `artifact_path`) of the active run (or `run_id`),
    and register it as a new version of `registered_model_name` when given.

    `await_registration_for` is honoured trivially: registration finishes before this returns."""
    return log_model_dir(
        lambda path: save_model(
            sk_model,
            path,
            code_paths=code_paths,
            serialization_format=serialization_format,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            pyfunc_predict_fn=pyfunc_predict_fn,
            metadata=metadata,
            skops_trusted_types=skops_trusted_types,
        ),
        name,
        artifact_path=artifact_path,
        registered_model_name=registered_model_name,
        run_id=run_id,
    )


def load_model(
    model_uri: str | Path,
    dst_path: str | Path | None = None,
    *,
    allow_pickle: bool | None = None,
    trusted_types: list[str] | None = None,
) -> Any:
    """The fitted estimator behind a model URI (runs:/, models:/, file:// or a path).

    `allow_pickle=None` takes the policy from settings (SHIPYARD_ALLOW_PICKLE); `trusted_types`
    are the types skops may load beyond its defaults (None: SHIPYARD_SKOPS_TRUSTED_TYPES); with
    pickles refused they are the only ones, the model's own list is ignored."""
    return _flavor.load_model(
        model_dir_for(model_uri, dst_path),
        allow_pickle=pickle_policy(allow_pickle),
        trusted_types=skops_trust_policy(trusted_types),
    )


__all__ = [
    "SERIALIZATION_FORMAT_CLOUDPICKLE",
    "SERIALIZATION_FORMAT_PICKLE",
    "SERIALIZATION_FORMAT_SKOPS",
    "SUPPORTED_SERIALIZATION_FORMATS",
    "autolog",
    "load_model",
    "log_model",
    "save_model",
]
