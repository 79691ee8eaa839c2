"""MLflow's parameters that Shipyard accepts by name and position but cannot honour, and why.

Every public function that mirrors an MLflow one takes all of MLflow's parameters, in MLflow's
order, so MLflow code (positional or keyword) binds the same way. A parameter Shipyard has no
feature for keeps its place and its default; `refuses(...)` makes a call that passes anything
else (None, False and empty values count as not passed) an `InvalidInput` naming the parameter
and the reason below, instead of ignoring it.
tests/test_mlflow_signatures.py holds the mirrored signatures against the installed mlflow.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from types import MappingProxyType
from typing import Any, ParamSpec, TypeVar

from shipyard.exceptions import InvalidInput

_LOGGED_MODEL = (
    "Shipyard's log_model keeps a model among its run's artifacts, not as an MLflow 3 LoggedModel "
    "with params, tags, type and step (the tracking server keeps LoggedModels only for MLflow's clients)"
)

UNSUPPORTED: MappingProxyType[str, str] = MappingProxyType(
    {
        # A key is a parameter name, or "<function>.<parameter>" where one name means different
        # things in different functions (start_run's tags are supported, log_model's are not).
        "auth_policy": "Databricks model-serving auth policies have no equivalent in Shipyard",
        "backend_config": "Shipyard runs projects locally only (no Databricks or Kubernetes backends to configure)",
        "conda_env": "Shipyard writes the environment itself from pip requirements; "
        "give pip_requirements or extra_pip_requirements instead",
        "data_path": "loader_module models (MLflow's custom-loader pyfunc) are not supported; "
        "give a python_model with artifacts",
        "dataset": "Shipyard's metric rows carry no dataset link; record the dataset with log_input",
        "dataset_digest": "Shipyard's metric rows carry no dataset link; record the dataset with log_input",
        "dataset_name": "Shipyard's metric rows carry no dataset link; record the dataset with log_input",
        "deployment_job_id": "Databricks deployment jobs have no equivalent in Shipyard",
        "docker_auth": "a project run never pulls an image, so it needs no registry credentials; "
        "pull or build the image first",
        "env_pack": "Databricks environment packs have no equivalent in Shipyard",
        "export_model": "torch.export (pt2) models are not saved by Shipyard; save the nn.Module or a "
        "torch.jit.ScriptModule",
        "extra_env": "spark_udf runs only with env_manager='local' (the executors' own environment), so it "
        "sets no variables in a built one; set spark.executorEnv.* on the session",
        "extra_files": "Shipyard copies no extra files into a model directory; use code_paths or a pyfunc artifact",
        "infer_code_paths": "Shipyard does not infer code paths; list them in code_paths",
        "loader_module": "loader_module models (MLflow's custom-loader pyfunc) are not supported; "
        "give a python_model with artifacts",
        "log_image.key": "image series (key, step, timestamp) are not stored by Shipyard; give artifact_file",
        "log_image.step": "image series (key, step, timestamp) are not stored by Shipyard; give artifact_file",
        "log_image.timestamp": "image series (key, step, timestamp) are not stored by Shipyard; give artifact_file",
        "log_input.model": _LOGGED_MODEL,
        "log_model.model_type": _LOGGED_MODEL,
        "log_model.params": _LOGGED_MODEL,
        "log_model.step": _LOGGED_MODEL,
        "log_model.tags": _LOGGED_MODEL,
        "prebuilt_env_uri": "spark_udf runs only with env_manager='local': it ships no prebuilt environments",
        "prompts": "MLflow's prompt registry does not exist in Shipyard",
        "log_system_metrics": "Shipyard does not sample system metrics",
        "mlflow_model": "Shipyard builds the MLmodel itself; pass metadata=... for extra fields",
        "model_id": _LOGGED_MODEL,
        "onnx_session_options": "onnxruntime session options are chosen at load (LoadOptions: "
        "intra_op_threads, inter_op_threads, onnx_providers), not saved with the model",
        "pickle_module": "Shipyard pickles torch modules with cloudpickle only",
        "resources": "Databricks model-serving resources have no equivalent in Shipyard",
        "stage": "tags addressed by stage are not supported (deprecated in MLflow); give the version",
        "storage_dir": "path parameters of a project take local files only: Shipyard downloads nothing for them",
        "streamable": "streaming predict is not supported by Shipyard's pyfunc",
        "trace_location": "traces are not stored by Shipyard",
        "uv_extras": "Shipyard does not read uv projects; give pip_requirements",
        "uv_groups": "Shipyard does not read uv projects; give pip_requirements",
        "uv_project_path": "Shipyard does not read uv projects; give pip_requirements",
        "workspace_store_uri": "MLflow's workspaces have no equivalent in Shipyard: one tracking URI is one store",
    }
)
"""MLflow parameter (or "<function>.<parameter>") -> why Shipyard does not honour it."""

P = ParamSpec("P")
R = TypeVar("R")


def reason_for(function: str, parameter: str) -> str | None:
    """The reason `function`'s `parameter` is unsupported, or None when Shipyard honours it."""
    return UNSUPPORTED.get(f"{function}.{parameter}") or UNSUPPORTED.get(parameter)


def refuses(*parameters: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a mirrored function: a call passing one of `parameters` with a value that asks for
    something (see `_given`) raises InvalidInput with the reason from `UNSUPPORTED`.

    NOTE: positions are computed once here, so a call costs a tuple index or a dict lookup per
    refused parameter, not an `inspect` bind (log_metric is on training loops' hot path)."""

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(fn)
        checks: list[tuple[int | None, str, Any, str]] = []
        for index, (name, param) in enumerate(signature.parameters.items()):
            if name not in parameters:
                continue
            reason = reason_for(fn.__name__, name)
            if reason is None:
                raise AssertionError(f"{fn.__qualname__}: {name!r} is refused but UNSUPPORTED gives no reason")
            positional = param.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
            checks.append((index if positional else None, name, param.default, reason))
        missing = set(parameters) - {name for _, name, _, _ in checks}
        if missing:
            raise AssertionError(f"{fn.__qualname__} has no parameters {sorted(missing)}")

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            for index, name, default, reason in checks:
                value = args[index] if index is not None and index < len(args) else kwargs.get(name, default)
                if _given(value, default):
                    raise InvalidInput(f"{fn.__name__}: parameter {name!r} is not supported by Shipyard: {reason}")
            return fn(*args, **kwargs)

        wrapper.__shipyard_refuses__ = tuple(parameters)  # type: ignore[attr-defined]
        return wrapper

    return decorate


def _given(value: Any, default: Any) -> bool:
    """Whether a refused parameter asks for something: None, False, an empty container and the
    default all mean "not used" (`streamable=False` or `tags={}` ask for nothing)."""
    if value is None or value is False or value is default:
        return False
    if isinstance(value, dict | list | tuple | set | str) and not value:
        return False
    try:
        return not bool(value == default)
    except Exception:  # NOTE: an array compared with a default has no single truth value
        return True


__all__ = ["UNSUPPORTED", "reason_for", "refuses"]
