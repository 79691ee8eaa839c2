"""The flavor plugin tables: plain data, imported lazily by `pyfunc.load_model`.

`FLAVORS` maps an MLmodel flavor name to the import string of its pyfunc loader;
`LOADER_MODULES` maps a `python_function.loader_module` (Shipyard's or MLflow's) to that name;
`RECORDED_VERSIONS` says which flavor fields record which distribution's version.
"""

from __future__ import annotations

FLAVORS: dict[str, str] = {
    "keras": "shipyard.flavors.keras:load_pyfunc",
    "lightgbm": "shipyard.flavors.lightgbm:load_pyfunc",
    "onnx": "shipyard.flavors.onnx:load_pyfunc",
    "paddle": "shipyard.flavors.paddle:load_pyfunc",
    "python_function": "shipyard.flavors.python_model:load_pyfunc",
    "pytorch": "shipyard.flavors.torch:load_pyfunc",
    "sklearn": "shipyard.flavors.sklearn:load_pyfunc",
    "tensorflow": "shipyard.flavors.tensorflow:load_pyfunc",
    "xgboost": "shipyard.flavors.xgboost:load_pyfunc",
}

LOADER_MODULES: dict[str, str] = {
    "mlflow.keras": "keras",
    "mlflow.lightgbm": "lightgbm",
    "mlflow.onnx": "onnx",
    "mlflow.paddle": "paddle",
    "mlflow.pyfunc.model": "python_function",
    "mlflow.pytorch": "pytorch",
    "mlflow.sklearn": "sklearn",
    "mlflow.tensorflow": "tensorflow",
    "mlflow.xgboost": "xgboost",
    "shipyard.flavors.keras": "keras",
    "shipyard.flavors.lightgbm": "lightgbm",
    "shipyard.flavors.onnx": "onnx",
    "shipyard.flavors.paddle": "paddle",
    "shipyard.flavors.python_model": "python_function",
    "shipyard.flavors.torch": "pytorch",
    "shipyard.flavors.sklearn": "sklearn",
    "shipyard.flavors.tensorflow": "tensorflow",
    "shipyard.flavors.xgboost": "xgboost",
}

RECORDED_VERSIONS: dict[str, dict[str, str]] = {
    "keras": {"keras_version": "keras"},
    "lightgbm": {"lgb_version": "lightgbm"},
    "onnx": {"onnx_version": "onnx", "onnxruntime_version": "onnxruntime"},
    "paddle": {"paddle_version": "paddlepaddle"},
    "python_function": {"cloudpickle_version": "cloudpickle"},
    "pytorch": {"pytorch_version": "torch"},
    "sklearn": {"sklearn_version": "scikit-learn"},
    "tensorflow": {"tensorflow_version": "tensorflow"},
    "xgboost": {"xgb_version": "xgboost"},
}

__all__ = ["FLAVORS", "LOADER_MODULES", "RECORDED_VERSIONS"]
