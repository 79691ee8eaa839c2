"""The flavor plugin tables: plain data, imported lazily by `pyfunc.load_model`.

`FLAVORS` maps an MLmodel flavor name to the import string of its pyfunc loader;
`LOADER_MODULES` maps a `python_function.loader_module` (Shipyard's or MLflow's) to that name;
`RECORDED_VERSIONS` says which flavor fields record which distribution's version.
"""

from __future__ import annotations

FLAVORS: dict[str, str] = {
    "onnx": "shipyard.flavors.onnx:load_pyfunc",
    "python_function": "shipyard.flavors.python_model:load_pyfunc",
    "pytorch": "shipyard.flavors.torch:load_pyfunc",
    "sklearn": "shipyard.flavors.sklearn:load_pyfunc",
}

LOADER_MODULES: dict[str, str] = {
    "mlflow.onnx": "onnx",
    "mlflow.pyfunc.model": "python_function",
    "mlflow.pytorch": "pytorch",
    "mlflow.sklearn": "sklearn",
    "shipyard.flavors.onnx": "onnx",
    "shipyard.flavors.python_model": "python_function",
    "shipyard.flavors.torch": "pytorch",
    "shipyard.flavors.sklearn": "sklearn",
}

RECORDED_VERSIONS: dict[str, dict[str, str]] = {
    "onnx": {"onnx_version": "onnx", "onnxruntime_version": "onnxruntime"},
    "python_function": {"cloudpickle_version": "cloudpickle"},
    "pytorch": {"pytorch_version": "torch"},
    "sklearn": {"sklearn_version": "scikit-learn"},
}

__all__ = ["FLAVORS", "LOADER_MODULES", "RECORDED_VERSIONS"]
