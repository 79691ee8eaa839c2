"""XGBoost flavor: a `Booster` or a sklearn-API model (`XGBClassifier`, `XGBRegressor`, ...) in
XGBoost's own JSON or UBJSON format, never pickle.

MLflow's layout (`model.<format>`, `model_class`, `model_format`, `xgb_version`), so directories
written by `mlflow.xgboost` load as they are. A Booster gets numpy straight into
`inplace_predict` (no DMatrix, no DataFrame) unless it has categorical features.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from shipyard.exceptions import InvalidInput, ModelLoadError
from shipyard.flavors.mlflow_loader import MlflowPyfunc, load_for_mlflow
from shipyard.flavors.mlmodel import PYFUNC_FLAVOR, Model
from shipyard.flavors.model_dir import create_model_dir, finish_model_dir
from shipyard.flavors.pyfunc import LoadOptions, add_code_paths, local_model_dir
from shipyard.flavors.signature import ModelSignature
from shipyard.flavors.tree_common import class_name, predict_kwargs, providing_distribution, resolve_class
from shipyard.mlflow_names import refuses

FLAVOR_NAME = "xgboost"
LOADER_MODULE = "shipyard.flavors.xgboost"
MODEL_FORMATS = ("ubj", "json")
# NOTE: both wheels install the module `xgboost`; the CPU-only one is what `shipyard[xgboost]` installs.
DISTRIBUTIONS = ("xgboost-cpu", "xgboost")
_BOOSTER_CLASS = "xgboost.core.Booster"


@refuses("conda_env", "mlflow_model", "extra_files")
def save_model(
    xgb_model: Any,
    path: str | Path,
    conda_env: Any = None,
    code_paths: list[str | Path] | None = None,
    mlflow_model: Any = None,
    signature: ModelSignature | None | bool = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    model_format: str = "ubj",
    metadata: dict[str, Any] | None = None,
    extra_files: Any = None,
) -> Model:
    """Save a trained Booster or sklearn-API model with `xgboost` and `python_function` flavors.

    MLflow's parameters in MLflow's order (see shipyard.mlflow_names); `model_format` "ubj"
    (UBJSON, the default, as MLflow's) or "json"."""
    import xgboost as xgb

    if not isinstance(xgb_model, (xgb.Booster, xgb.XGBModel)):
        raise InvalidInput(
            f"xgb_model must be an xgboost.Booster or an xgboost sklearn-API model "
            f"(XGBClassifier, XGBRegressor, ...), got {type(xgb_model).__name__}"
        )
    if model_format not in MODEL_FORMATS:
        raise InvalidInput(
            f"model_format {model_format!r} is not supported; allowed: {', '.join(MODEL_FORMATS)} "
            "(XGBoost's legacy binary 'xgb' format is deprecated by XGBoost)"
        )
    model_dir = create_model_dir(path)
    file_name = f"model.{model_format}"
    xgb_model.save_model(str(model_dir / file_name))
    backend = XGBoostBackend(xgb_model)
    dists = [providing_distribution(DISTRIBUTIONS), "numpy", "scipy"]
    if isinstance(xgb_model, xgb.XGBModel):
        dists.append("scikit-learn")
    return finish_model_dir(
        model_dir,
        flavor_name=FLAVOR_NAME,
        flavor_conf={
            "xgb_version": xgb.__version__,
            "data": file_name,
            "model_class": class_name(xgb_model),
            "model_format": model_format,
        },
        pyfunc_conf={"loader_module": LOADER_MODULE, "data": file_name},
        distributions=dists,
        signature=signature,
        input_example=input_example,
        predict=lambda d: backend.predict(d, None),
        needs_column_names=backend.needs_column_names,
        code_paths=code_paths,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
    )


def _read(model_dir: Path, model: Model) -> Any:
    import xgboost as xgb

    conf = model.flavors.get(FLAVOR_NAME) or {}
    file_name = conf.get("data") or (model.flavors.get(PYFUNC_FLAVOR) or {}).get("data")
    if not file_name or not (model_dir / str(file_name)).is_file():
        raise ModelLoadError(f"{model_dir}: the xgboost flavor names no model file that exists (data: {file_name!r})")
    cls = resolve_class(str(conf.get("model_class") or _BOOSTER_CLASS), "xgboost", (xgb.Booster, xgb.XGBModel))
    xgb_model = cls()
    xgb_model.load_model(str(model_dir / str(file_name)))
    return xgb_model


def load_model(path: str | Path) -> Any:
    """The Booster or sklearn-API model itself, as it was saved (`model_class`)."""
    model_dir = local_model_dir(path)
    model = Model.load(model_dir)
    add_code_paths(model_dir, model.flavors.get(FLAVOR_NAME) or {})
    return _read(model_dir, model)


def _has_categories(booster: Any) -> bool:
    return any(t == "c" for t in (booster.feature_types or []))


class XGBoostBackend:
    """`Booster.inplace_predict` on a 2-D array, or the sklearn-API model's own `predict`."""

    def __init__(self, xgb_model: Any) -> None:
        import xgboost as xgb

        self._xgb = xgb
        self.model = xgb_model
        self._is_booster = isinstance(xgb_model, xgb.Booster)
        self.booster = xgb_model if self._is_booster else xgb_model.get_booster()
        # Categorical features are read from pandas category columns only.
        self.needs_column_names = _has_categories(self.booster)
        self.batchable = True

    def predict(self, data: Any, params: dict[str, Any] | None) -> Any:
        if not self._is_booster:
            return self.model.predict(data, **predict_kwargs(self.model.predict, params, "XGBModel.predict"))
        booster = self.model
        if not params and isinstance(data, np.ndarray) and not self.needs_column_names:
            return booster.inplace_predict(data, validate_features=False)
        kwargs = predict_kwargs(booster.predict, params, "Booster.predict")
        if isinstance(data, np.ndarray):
            matrix = self._xgb.DMatrix(data, feature_names=booster.feature_names)
        else:
            matrix = self._xgb.DMatrix(data, enable_categorical=self.needs_column_names)
        return booster.predict(matrix, **kwargs)


def load_pyfunc(model_dir: Path, model: Model, options: LoadOptions) -> XGBoostBackend:
    backend = XGBoostBackend(_read(model_dir, model))
    if options.intra_op_threads:
        backend.booster.set_param({"nthread": options.intra_op_threads})
    return backend


def _load_pyfunc(data_path: str, model_config: dict[str, Any] | None = None) -> MlflowPyfunc:
    """MLflow's loader-module contract (see flavors.mlflow_loader)."""
    return load_for_mlflow(data_path, model_config)


__all__ = ["FLAVOR_NAME", "XGBoostBackend", "load_model", "load_pyfunc", "save_model"]
