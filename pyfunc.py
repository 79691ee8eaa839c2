"""`shipyard.pyfunc`: load any model for generic predict; save and log custom Python models.

Mirrors `mlflow.pyfunc`: `load_model(uri).predict(data, params=None)` enforces the signature.
Every function takes MLflow's parameters in MLflow's order; the ones Shipyard cannot honour are
refused with the reason in `shipyard.mlflow_names.UNSUPPORTED`.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.exceptions import InvalidInput
from shipyard.flavors import pyfunc as _pyfunc
from shipyard.flavors import python_model as _python_model
from shipyard.flavors.mlmodel import Model
from shipyard.flavors.pyfunc import LoadOptions, PyFuncModel
from shipyard.flavors.python_model import PythonModel, PythonModelContext, load_python_model
from shipyard.flavors.signature import ModelSignature
from shipyard.lazy import lazy_exports
from shipyard.mlflow_names import refuses
from shipyard.model_artifacts import model_dir_for, pickle_policy, skops_trust_policy
from shipyard.model_logging import ModelInfo, log_model_dir

if TYPE_CHECKING:
    from shipyard.spark.udf import spark_udf

_PYFUNC_UNSUPPORTED = (
    "loader_module",
    "data_path",
    "infer_code_paths",
    "conda_env",
    "streamable",
    "resources",
    "auth_policy",
    "uv_project_path",
    "uv_groups",
    "uv_extras",
)


@refuses(*_PYFUNC_UNSUPPORTED, "mlflow_model")
def save_model(
    path: str | Path,
    loader_module: str | None = None,
    data_path: Any = None,
    code_paths: list[str | Path] | None = None,
    infer_code_paths: bool = False,
    conda_env: Any = None,
    mlflow_model: Any = None,
    python_model: Any = None,
    artifacts: dict[str, str | Path] | None = None,
    signature: ModelSignature | None | bool = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    model_config: dict[str, Any] | None = None,
    streamable: bool | None = None,
    resources: Any = None,
    auth_policy: Any = None,
    uv_project_path: str | Path | None = None,
    uv_groups: list[str] | None = None,
    uv_extras: list[str] | None = None,
    *,
    batchable: bool | None = None,
) -> Model:
    """Save a `PythonModel` (any object with predict) as a model directory at `path`."""
    return _python_model.save_model(
        path,
        python_model,
        artifacts=artifacts,
        code_paths=code_paths,
        signature=signature,
        input_example=input_example,
        batchable=batchable,
        model_config=model_config,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
    )


@refuses(*_PYFUNC_UNSUPPORTED, "prompts", "params", "tags", "model_type", "step", "model_id")
def log_model(
    artifact_path: str | None = None,
    loader_module: str | None = None,
    data_path: Any = None,
    code_paths: list[str | Path] | None = None,
    infer_code_paths: bool = False,
    conda_env: Any = None,
    python_model: Any = None,
    artifacts: dict[str, str | Path] | None = None,
    registered_model_name: str | None = None,
    signature: ModelSignature | None | bool = None,
    input_example: Any = None,
    await_registration_for: int = 300,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    model_config: dict[str, Any] | None = None,
    streamable: bool | None = None,
    resources: Any = None,
    auth_policy: Any = None,
    uv_project_path: str | Path | None = None,
    uv_groups: list[str] | None = None,
    uv_extras: list[str] | None = None,
    prompts: list[Any] | None = None,
    name: str | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
    *,
    run_id: str | None = None,
    batchable: bool | None = None,
) -> ModelInfo:
    """Log a custom `PythonModel` under `name` (or `artifact_path`) of the active run (or
    `run_id`), and register it as a new version of `registered_model_name` when given.

    `await_registration_for` is honoured trivially: registration finishes before this returns."""
    return log_model_dir(
        lambda path: save_model(
            path,
            code_paths=code_paths,
            python_model=python_model,
            artifacts=artifacts,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            metadata=metadata,
            model_config=model_config,
            batchable=batchable,
        ),
        name,
        artifact_path=artifact_path,
        registered_model_name=registered_model_name,
        run_id=run_id,
    )


def load_model(
    model_uri: str | Path,
    suppress_warnings: bool = False,
    dst_path: str | Path | None = None,
    model_config: dict[str, Any] | str | Path | None = None,
    *,
    allow_pickle: bool | None = None,
    **options: Any,
) -> PyFuncModel:
    """Load a model (models:/ or runs:/ URI, file:// URI or local path) for generic predict.

    `allow_pickle=None` takes the policy from settings (SHIPYARD_ALLOW_PICKLE); `options` are
    `LoadOptions` fields (device, onnx_providers, intra_op_threads, inter_op_threads);
    `model_config` (a dict, or a YAML/JSON file of one) overrides the saved config of a python
    model; `suppress_warnings` silences the warnings loading raises (as MLflow's does)."""
    if isinstance(model_config, str | Path):
        model_config = _read_config(Path(model_config))
    local = model_dir_for(model_uri, dst_path)
    with warnings.catch_warnings():
        if suppress_warnings:
            warnings.simplefilter("ignore")
        options.setdefault("skops_trusted_types", skops_trust_policy(None))
        return _pyfunc.load_model(local, allow_pickle=pickle_policy(allow_pickle), model_config=model_config, **options)


def _read_config(path: Path) -> dict[str, Any]:
    import yaml

    if not path.is_file():
        raise InvalidInput(f"model_config: {str(path)!r} is not a file (give a dict or a YAML/JSON file)")
    config = yaml.safe_load(path.read_text())
    if not isinstance(config, dict):
        raise InvalidInput(f"model_config: {str(path)!r} holds a {type(config).__name__}, not a mapping")
    return config


# NOTE: `spark_udf` is resolved on first use, so `import shipyard.pyfunc` never imports pyspark.
__getattr__, __dir__ = lazy_exports(__name__, {"spark_udf": "shipyard.spark.udf:spark_udf"})

__all__ = [
    "LoadOptions",
    "PyFuncModel",
    "PythonModel",
    "PythonModelContext",
    "load_model",
    "load_python_model",
    "log_model",
    "save_model",
    "spark_udf",
]
