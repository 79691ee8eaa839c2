"""Reading pickles that reference MLflow's classes, with or without `mlflow` installed.

MLflow cloudpickles the user's `PythonModel` object. A class defined in a script or notebook
(`__main__`) is pickled by value, and its bases (`mlflow.pyfunc.model.PythonModel`) and the
globals of its methods by reference, so a plain `pickle.load` imports mlflow. `MlflowUnpickler`
maps the names such pickles reference to Shipyard's equivalents; any other `mlflow.*` name is
imported as usual where mlflow is installed and is a `ModelLoadError` naming it where not.
"""

from __future__ import annotations

import importlib
import pickle
from typing import IO, Any

from shipyard.exceptions import ModelLoadError
from shipyard.lazy import load

MLFLOW_NAMES: dict[tuple[str, str], str] = {
    ("mlflow.exceptions", "MlflowException"): "shipyard.exceptions:InvalidInput",
    ("mlflow.models.signature", "_TypeHints"): "shipyard.flavors.mlflow_shims:TypeHints",
    ("mlflow.pyfunc", "PythonModel"): "shipyard.flavors.python_model:PythonModel",
    ("mlflow.pyfunc", "PythonModelContext"): "shipyard.flavors.python_model:PythonModelContext",
    ("mlflow.pyfunc.model", "PythonModel"): "shipyard.flavors.python_model:PythonModel",
    ("mlflow.pyfunc.model", "PythonModelContext"): "shipyard.flavors.python_model:PythonModelContext",
    ("mlflow.pyfunc.model", "_FunctionPythonModel"): "shipyard.flavors.mlflow_shims:FunctionPythonModel",
    ("mlflow.pyfunc.utils.data_validation", "FuncInfo"): "shipyard.flavors.mlflow_shims:FuncInfo",
    ("mlflow.pyfunc.utils.data_validation", "_validate_model_input"): (
        "shipyard.flavors.mlflow_shims:validate_model_input"
    ),
}
"""(module, name) as the pickle spells it -> the import string of Shipyard's equivalent.

NOTE: the mapping applies even where mlflow is installed, so a model behaves the same in both
environments. MLflow's type-hint validation error (`MlflowException`) becomes `InvalidInput`
(a 400 when served): the wrapper raises it only for input that does not fit the hint."""

_SUBIMPORT = ("cloudpickle.cloudpickle", "subimport")


def _is_mlflow(module: str | None) -> bool:
    return module is not None and (module == "mlflow" or module.startswith("mlflow."))


def _mapped() -> str:
    return ", ".join(f"{m}.{n}" for m, n in sorted(MLFLOW_NAMES))


def _mlflow_missing(what: str) -> ModelLoadError:
    return ModelLoadError(
        f"the pickle references {what}, which Shipyard does not map to its own classes, and "
        f"mlflow is not installed. Shipyard maps: {_mapped()}. Install mlflow to load this model, "
        "or re-save it with shipyard.pyfunc.save_model"
    )


def subimport(name: str) -> Any:
    """cloudpickle's `subimport` (a module a by-value function uses as a global), with a clear
    error for an `mlflow` module that is not installed."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if _is_mlflow(exc.name):
            raise _mlflow_missing(f"the module {name!r} (a global of a pickled function)") from exc
        raise


class MlflowUnpickler(pickle.Unpickler):
    """`pickle.Unpickler` whose `find_class` resolves MLflow's names through `MLFLOW_NAMES`."""

    def find_class(self, module: str, name: str) -> Any:
        target = MLFLOW_NAMES.get((module, name))
        if target is not None:
            return load(target)
        if (module, name) == _SUBIMPORT:
            return subimport
        try:
            return super().find_class(module, name)
        except ModuleNotFoundError as exc:
            if _is_mlflow(module):
                raise _mlflow_missing(f"{module}.{name}") from exc
            if _is_mlflow(exc.name):
                raise ModelLoadError(
                    f"the pickled class {module}.{name} is defined in module {module!r}, which imports "
                    f"{exc.name!r}, and mlflow is not installed. In that module, import PythonModel "
                    "from shipyard.pyfunc (or `import shipyard as mlflow`), or install mlflow"
                ) from exc
            raise


def load_pickle(fh: IO[bytes]) -> Any:
    """One object from an open pickle file, MLflow's names mapped."""
    return MlflowUnpickler(fh).load()


__all__ = ["MLFLOW_NAMES", "MlflowUnpickler", "load_pickle", "subimport"]
