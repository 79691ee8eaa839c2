"""LightGBM flavor: a `Booster` or a sklearn-API model (`LGBMClassifier`, `LGBMRegressor`, ...)
in LightGBM's native text format, never pickle.

A Booster is `model.lgb` as MLflow writes it. A sklearn-API model is its booster's text plus its
sklearn state (constructor params, classes) as JSON (see `flavors/lightgbm_sklearn.py`); MLflow
pickles (or skops) those instead, and such MLflow directories load too, under the pickle policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shipyard.exceptions import InvalidInput, ModelLoadError
from shipyard.flavors.environment import installed_version
from shipyard.flavors.lightgbm_sklearn import STATE_FILE, rebuild_estimator, write_state
from shipyard.flavors.mlflow_loader import MlflowPyfunc, load_for_mlflow
from shipyard.flavors.mlmodel import PYFUNC_FLAVOR, Model
from shipyard.flavors.model_dir import create_model_dir, finish_model_dir
from shipyard.flavors.pyfunc import LoadOptions, add_code_paths, local_model_dir
from shipyard.flavors.signature import ModelSignature
from shipyard.flavors.sklearn import read_estimator
from shipyard.flavors.tree_common import class_name, predict_kwargs, resolve_class
from shipyard.mlflow_names import refuses

FLAVOR_NAME = "lightgbm"
LOADER_MODULE = "shipyard.flavors.lightgbm"
MODEL_FILE = "model.lgb"
NATIVE_FORMAT = "lightgbm_text"
_BOOSTER_CLASS = "lightgbm.basic.Booster"


@refuses("conda_env", "mlflow_model", "extra_files")
def save_model(
    lgb_model: Any,
    path: str | Path,
    conda_env: Any = None,
    code_paths: list[str | Path] | None = None,
    mlflow_model: Any = None,
    signature: ModelSignature | None | bool = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    serialization_format: str | None = None,
    skops_trusted_types: list[str] | None = None,
    extra_files: Any = None,
) -> Model:
    """Save a trained Booster or fitted sklearn-API model with `lightgbm` and `python_function`
    flavors.

    MLflow's parameters in MLflow's order (see shipyard.mlflow_names). NOTE: MLflow pickles (or
    skops) sklearn-API models; Shipyard writes LightGBM's text format for both kinds, so
    `serialization_format` may only be None or "lightgbm_text" and skops_trusted_types is refused."""
    import lightgbm as lgb

    if serialization_format not in (None, NATIVE_FORMAT):
        raise InvalidInput(
            f"serialization_format {serialization_format!r} is not supported for LightGBM models: "
            f"Shipyard saves them in LightGBM's own text format ({NATIVE_FORMAT!r}), never pickle or skops"
        )
    if skops_trusted_types:
        raise InvalidInput("skops_trusted_types: LightGBM models are not saved with skops by Shipyard")
    if not isinstance(lgb_model, (lgb.Booster, lgb.LGBMModel)):
        raise InvalidInput(
            f"lgb_model must be a lightgbm.Booster or a LightGBM sklearn-API model "
            f"(LGBMClassifier, LGBMRegressor, ...), got {type(lgb_model).__name__}"
        )
    is_booster = isinstance(lgb_model, lgb.Booster)
    if isinstance(lgb_model, lgb.LGBMModel) and not lgb_model.__sklearn_is_fitted__():
        raise InvalidInput(f"lgb_model: this {type(lgb_model).__name__} is not fitted; call fit first")
    model_dir = create_model_dir(path)
    if isinstance(lgb_model, lgb.Booster):
        lgb_model.save_model(str(model_dir / MODEL_FILE))
    else:
        lgb_model.booster_.save_model(str(model_dir / MODEL_FILE))
        write_state(lgb_model, model_dir / STATE_FILE)
    backend = LightGBMBackend(lgb_model)
    dists = ["lightgbm", "numpy", "scipy"] + ([] if is_booster else ["scikit-learn"])
    return finish_model_dir(
        model_dir,
        flavor_name=FLAVOR_NAME,
        flavor_conf={
            "lgb_version": installed_version("lightgbm"),
            "data": MODEL_FILE,
            "model_class": class_name(lgb_model),
            "serialization_format": NATIVE_FORMAT,
            **({} if is_booster else {"sklearn_state": STATE_FILE}),
        },
        pyfunc_conf={"loader_module": LOADER_MODULE, "data": MODEL_FILE},
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


def _read(model_dir: Path, model: Model, allow_pickle: bool, trusted_types: Sequence[str] = ()) -> Any:
    import lightgbm as lgb

    conf = model.flavors.get(FLAVOR_NAME) or {}
    file_name = conf.get("data") or (model.flavors.get(PYFUNC_FLAVOR) or {}).get("data")
    path = model_dir / str(file_name or "")
    if not file_name or not path.is_file():
        raise ModelLoadError(f"{model_dir}: the lightgbm flavor names no model file that exists (data: {file_name!r})")
    name = str(conf.get("model_class") or _BOOSTER_CLASS)
    cls = resolve_class(name, "lightgbm", (lgb.Booster, lgb.LGBMModel))
    if issubclass(cls, lgb.Booster):
        return lgb.Booster(model_file=str(path))
    if conf.get("sklearn_state"):
        return rebuild_estimator(cls, lgb.Booster(model_file=str(path)), model_dir / str(conf["sklearn_state"]))
    # MLflow's sklearn-API layout: the estimator itself, as skops or (cloud)pickle.
    fmt = str(conf.get("serialization_format") or "cloudpickle")
    saved = conf.get("skops_trusted_types")
    return read_estimator(path, fmt, saved, allow_pickle=allow_pickle, trusted_types=trusted_types)


def load_model(path: str | Path, *, allow_pickle: bool = True, trusted_types: Sequence[str] = ()) -> Any:
    """The Booster or sklearn-API model itself, as it was saved (`model_class`); `trusted_types`
    only matters for MLflow's skops files (see `flavors.sklearn.skops_trust`)."""
    model_dir = local_model_dir(path)
    model = Model.load(model_dir)
    add_code_paths(model_dir, model.flavors.get(FLAVOR_NAME) or {})
    return _read(model_dir, model, allow_pickle, trusted_types)


class LightGBMBackend:
    """The model's own `predict` (a Booster takes a 2-D array as is)."""

    def __init__(self, lgb_model: Any, threads: int | None = None) -> None:
        import lightgbm as lgb

        self.model = lgb_model
        is_booster = isinstance(lgb_model, lgb.Booster)
        booster = lgb_model if is_booster else lgb_model.booster_
        # NOTE: Booster.reset_parameter on a booster read from a file kills the process (SIGSEGV,
        # LightGBM 4.7), so the thread count goes with each predict call instead.
        self._fixed: dict[str, Any] = {"num_threads": threads} if threads and is_booster else {}
        if threads and not is_booster:
            lgb_model.set_params(n_jobs=threads)
        # pandas category columns are what LightGBM's categorical features are read from; a
        # sklearn-API model fitted on a DataFrame warns on arrays (sklearn's feature-name check).
        categorical = bool(getattr(booster, "pandas_categorical", None))
        fitted_names = not isinstance(lgb_model, lgb.Booster) and hasattr(lgb_model, "feature_names_in_")
        self.needs_column_names = categorical or fitted_names
        self.batchable = True

    def predict(self, data: Any, params: dict[str, Any] | None) -> Any:
        fn = self.model.predict
        return fn(data, **self._fixed, **predict_kwargs(fn, params, f"{type(self.model).__name__}.predict"))


def load_pyfunc(model_dir: Path, model: Model, options: LoadOptions) -> LightGBMBackend:
    model_obj = _read(model_dir, model, options.allow_pickle, options.skops_trusted_types)
    return LightGBMBackend(model_obj, options.intra_op_threads)


def _load_pyfunc(data_path: str, model_config: dict[str, Any] | None = None) -> MlflowPyfunc:
    """MLflow's loader-module contract (see flavors.mlflow_loader)."""
    return load_for_mlflow(data_path, model_config)


__all__ = ["FLAVOR_NAME", "LightGBMBackend", "load_model", "load_pyfunc", "save_model"]
