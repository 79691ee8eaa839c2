"""`shipyard.paddle`: save, log and load PaddlePaddle models (mirrors `mlflow.paddle`).

Every function takes MLflow's parameters in MLflow's order (MLflow 2's `artifact_path` and
MLflow 3's `name` alike); the ones Shipyard cannot honour are refused with the reason in
`shipyard.mlflow_names.UNSUPPORTED`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipyard.flavors import paddle as _flavor
from shipyard.flavors.paddle import save_model
from shipyard.flavors.signature import ModelSignature
from shipyard.mlflow_names import refuses
from shipyard.model_artifacts import model_dir_for, pickle_policy
from shipyard.model_logging import ModelInfo, log_model_dir


@refuses("conda_env", "extra_files", "params", "tags", "model_type", "step", "model_id")
def log_model(
    pd_model: Any,
    artifact_path: str | None = None,
    training: bool = False,
    conda_env: Any = None,
    code_paths: list[str | Path] | None = None,
    registered_model_name: str | None = None,
    signature: ModelSignature | None | bool = None,
    input_example: Any = None,
    await_registration_for: int = 300,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
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
    **kwargs: Any,
) -> ModelInfo:
    """Save `pd_model`, log it under `name` (or `artifact_path`) of the active run (or `run_id`),
    and register it as a new version of `registered_model_name` when given.

    `kwargs` go to `paddle.jit.save` / `paddle.Model.save` (`input_spec`, ...), as in MLflow.
    `await_registration_for` is honoured trivially: registration finishes before this returns."""
    return log_model_dir(
        lambda path: save_model(
            pd_model,
            path,
            training=training,
            code_paths=code_paths,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            metadata=metadata,
            **kwargs,
        ),
        name,
        artifact_path=artifact_path,
        registered_model_name=registered_model_name,
        run_id=run_id,
    )


def load_model(
    model_uri: str | Path, model: Any = None, dst_path: str | Path | None = None, *, allow_pickle: bool | None = None
) -> Any:
    """The paddle Layer behind a model URI (runs:/, models:/, file:// or a path): the saved
    inference program, or with `model` (a Layer or `paddle.Model`, or its class) the saved state
    dict loaded into it.

    State dicts and legacy programs are pickles: `allow_pickle=None` takes the policy from
    settings (SHIPYARD_ALLOW_PICKLE)."""
    return _flavor.load_model(model_dir_for(model_uri, dst_path), model, allow_pickle=pickle_policy(allow_pickle))


__all__ = ["load_model", "log_model", "save_model"]
