"""`shipyard.pyfunc`: load any model for generic predict; save custom Python models.

Mirrors `mlflow.pyfunc`: `load_model(uri).predict(data, params=None)` enforces the signature.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipyard.flavors import pyfunc as _pyfunc
from shipyard.flavors.pyfunc import LoadOptions, PyFuncModel
from shipyard.flavors.python_model import (
    PythonModel,
    PythonModelContext,
    load_python_model,
    save_model,
)
from shipyard.model_logging import log_python_model
from shipyard.registry.uris import resolve_model_uri
from shipyard.tracking.fluent import get_tracking_uri
from shipyard.tracking.fluent_state import process_settings

log_model = log_python_model


def load_model(model_uri: str | Path, *, allow_pickle: bool | None = None, **options: Any) -> PyFuncModel:
    """Load a model (models:/ or runs:/ URI, file:// URI or local path) for generic predict.

    `allow_pickle=None` takes the policy from settings (SHIPYARD_ALLOW_PICKLE); `options` are
    `LoadOptions` fields (device, onnx_providers, intra_op_threads, inter_op_threads).
    An edge of the public API: the settings are the process's (built on first use)."""
    settings = process_settings()
    if allow_pickle is None:
        allow_pickle = settings.allow_pickle
    # models:/, runs:/, file:// and paths all become a verified local directory here.
    resolved = resolve_model_uri(model_uri, settings=settings, tracking_uri=get_tracking_uri())
    return _pyfunc.load_model(resolved.local_path, allow_pickle=allow_pickle, **options)


__all__ = [
    "LoadOptions",
    "PyFuncModel",
    "PythonModel",
    "PythonModelContext",
    "load_model",
    "load_python_model",
    "log_model",
    "save_model",
]
