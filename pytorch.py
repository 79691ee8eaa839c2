"""`shipyard.pytorch`: save, log and load PyTorch modules, whole or TorchScript (mirrors `mlflow.pytorch`).

Every function takes MLflow's parameters in MLflow's order (MLflow 2's `artifact_path` and
MLflow 3's `name` alike); the ones Shipyard cannot honour are refused with the reason in
`shipyard.mlflow_names.UNSUPPORTED`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipyard.autologging.lightning import autolog
from shipyard.flavors import torch as _flavor
from shipyard.flavors.signature import ModelSignature
from shipyard.flavors.torch import save_model
from shipyard.mlflow_names import refuses
from shipyard.model_artifacts import model_dir_for, pickle_policy
from shipyard.model_logging import ModelInfo, log_model_dir


@refuses(
    "conda_env", "pickle_module", "extra_files", "params", "tags", "model_type", "step", "model_id", "export_model"
)
def log_model(
    pytorch_model: Any,
    artifact_path: str | None = None,
    conda_env: Any = None,
    code_paths: list[str | Path] | None = None,
    pickle_module: Any = None,
    registered_model_name: str | None = None,
    signature: ModelSignature | None | bool = None,
    input_example: Any = None,
    await_registration_for: int = 300,
    extra_files: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    name: str | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
    export_model: bool = False,
    serialization_format: str | None = None,
    *,
    run_id: str | None = None,
) -> ModelInfo:
    """Save `pytorch_model`, log it under `name` (or `artifact_path`) of the active run (or
    `run_id`), and register it as a new version of `registered_model_name` when given.

    `await_registration_for` is honoured trivially: registration finishes before this returns."""
    return log_model_dir(
        lambda path: save_model(
            pytorch_model,
            path,
            code_paths=code_paths,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            metadata=metadata,
            serialization_format=serialization_format,
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
    device: str | None = None,
    map_location: Any = None,
) -> Any:
    """The `nn.Module` behind a model URI (runs:/, models:/, file:// or a path), in eval mode.

    MLflow passes its extra keyword arguments to `torch.load`; of those Shipyard takes
    `map_location` (a device name or `torch.device`), the same as `device`."""
    if device is None and map_location is not None:
        device = str(map_location)
    return _flavor.load_model(
        model_dir_for(model_uri, dst_path), allow_pickle=pickle_policy(allow_pickle), device=device
    )


__all__ = ["autolog", "load_model", "log_model", "save_model"]
