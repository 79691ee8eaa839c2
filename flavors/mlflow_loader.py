"""MLflow's side of a Shipyard model directory: what each loader module's `_load_pyfunc` returns.

`mlflow.pyfunc.load_model` (and so `spark_udf`) reads `python_function.loader_module` from
MLmodel and calls `importlib.import_module(loader_module)._load_pyfunc(data_path)` (with
`model_config` as a second argument when there is one), where `data_path` is the model
directory joined with the flavor's `data` entry if it has one, else the directory itself. It then
calls the method that `predict_fn` names (default `predict`) with `(data, params=params)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipyard.exceptions import ModelLoadError
from shipyard.flavors.mlmodel import MLMODEL_FILE_NAME, PYFUNC_FLAVOR, Model
from shipyard.flavors.pyfunc import PyFuncModel, load_model


class MlflowPyfunc:
    """A Shipyard `PyFuncModel` behind MLflow's model-implementation contract.

    MLflow has already enforced its signature on `data`; Shipyard's enforcement then accepts
    what MLflow's gives (a DataFrame, an array, a dict of arrays) and converts it as it would its
    own input, so the numbers are the ones Shipyard's own predict gives."""

    def __init__(self, model: PyFuncModel) -> None:
        self.model = model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self.model.predict(data, params)


def model_dir_for(data_path: str | Path) -> Path:
    """The model directory whose `python_function.data` MLflow joined into `data_path`."""
    given = Path(data_path).resolve()
    for candidate in (given, *given.parents):
        if not (candidate / MLMODEL_FILE_NAME).is_file():
            continue
        conf = Model.load(candidate).flavors.get(PYFUNC_FLAVOR) or {}
        if (candidate / str(conf.get("data") or "")).resolve() == given:
            return candidate
    raise ModelLoadError(
        f"{data_path}: no model directory found whose python_function 'data' entry is this path "
        "(MLflow passes the model directory, or the directory joined with that entry)"
    )


def load_for_mlflow(
    data_path: str | Path, model_config: dict[str, Any] | None = None, wrapper: type[MlflowPyfunc] = MlflowPyfunc
) -> MlflowPyfunc:
    """Load the Shipyard model behind `data_path` for MLflow's `PyFuncModel`.

    NOTE: pickles are allowed here: the caller is MLflow's loader, whose own policy (and not
    SHIPYARD_ALLOW_PICKLE, which is read only at Shipyard's edges) applies in its process."""
    options: dict[str, Any] = {"model_config": model_config} if model_config else {}
    return wrapper(load_model(model_dir_for(data_path), allow_pickle=True, **options))


__all__ = ["MlflowPyfunc", "load_for_mlflow", "model_dir_for"]
