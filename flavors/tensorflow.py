"""TensorFlow flavor (MLmodel name `tensorflow`, as MLflow's): Keras models and SavedModels.

A Keras 3 model is saved as MLflow 3 saves it with TensorFlow >= 2.16 (`data/model.keras`,
`model_type: keras`) and needs only keras and a backend, so it saves, loads and serves without
TensorFlow. A `tf.Module` is a TensorFlow SavedModel (`tf2model/`, `model_type: tf2-module`), as
are MLflow's older Keras SavedModels (`save_format: tf`) and TF1 estimators: those need
TensorFlow, and say so when it is missing.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any

from shipyard.exceptions import InvalidInput, ModelLoadError
from shipyard.flavors.environment import installed_version
from shipyard.flavors.keras import (
    KerasBackend,
    is_keras_model,
    load_keras_file,
    load_saved_model,
    requirements,
    save_keras_file,
)
from shipyard.flavors.mlflow_loader import MlflowPyfunc, load_for_mlflow
from shipyard.flavors.mlmodel import Model
from shipyard.flavors.model_dir import create_model_dir, finish_model_dir
from shipyard.flavors.pyfunc import LoadOptions, add_code_paths, local_model_dir
from shipyard.flavors.signature import ModelSignature
from shipyard.mlflow_names import refuses

FLAVOR_NAME = "tensorflow"
LOADER_MODULE = "shipyard.flavors.tensorflow"
KERAS_DATA_DIR = "data"
SAVED_MODEL_DIR = "tf2model"
MODEL_TYPES = ("keras", "tf2-module", "tf1-estimator")
KERAS_SUFFIXES = (".keras", ".h5")


def _tensorflow(what: str) -> Any:
    if importlib.util.find_spec("tensorflow") is None:
        raise ModelLoadError(f"{what} needs tensorflow, which is not installed here (pip install tensorflow)")
    return importlib.import_module("tensorflow")


@refuses("conda_env", "mlflow_model", "extra_files")
def save_model(
    model: Any,
    path: str | Path,
    conda_env: Any = None,
    code_paths: list[str | Path] | None = None,
    mlflow_model: Any = None,
    custom_objects: dict[str, Any] | None = None,
    signature: ModelSignature | None | bool = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    saved_model_kwargs: dict[str, Any] | None = None,
    keras_model_kwargs: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    extra_files: Any = None,
) -> Model:
    """Save a Keras 3 model (`.keras`, any backend) or a `tf.Module` (SavedModel, needs tensorflow)."""
    if custom_objects:
        # NOTE: not in mlflow_names: mlflow.tensorflow (the signature tests' reference) imports
        # only where TensorFlow is installed.
        raise InvalidInput(
            "custom_objects is not supported by Shipyard: Keras 3 .keras files name custom objects by their "
            "registered name (MLflow pickles them); register them with keras.saving.register_keras_serializable"
        )
    if is_keras_model(model):
        if (keras_model_kwargs or {}).get("save_format") not in (None, "keras"):
            raise InvalidInput("keras_model_kwargs save_format: Keras 3 saves only the 'keras' format")
        kwargs = {k: v for k, v in (keras_model_kwargs or {}).items() if k != "save_format"}
        model_dir = create_model_dir(path)
        backend = save_keras_file(model, model_dir / KERAS_DATA_DIR, kwargs)
        (model_dir / KERAS_DATA_DIR / "save_format.txt").write_text("keras")
        flavor_conf: dict[str, Any] = {
            "data": KERAS_DATA_DIR,
            "model_type": "keras",
            "keras_version": installed_version("keras"),
            "keras_backend": backend,
            "save_format": "keras",
        }
        pyfunc_conf = {"loader_module": LOADER_MODULE, "data": KERAS_DATA_DIR}
        distributions = requirements(backend)
        runner: Any = KerasBackend(model)
    else:
        if importlib.util.find_spec("tensorflow") is None:
            raise InvalidInput(
                f"model is a {type(model).__name__}, not a Keras 3 model: other models are saved as a "
                "TensorFlow SavedModel, which needs tensorflow, and it is not installed here (pip install tensorflow)"
            )
        tf = importlib.import_module("tensorflow")
        if not isinstance(model, tf.Module):
            raise InvalidInput(f"model must be a keras.Model or a tf.Module, got {type(model).__name__}")
        model_dir = create_model_dir(path)
        tf.saved_model.save(model, str(model_dir / SAVED_MODEL_DIR), **(saved_model_kwargs or {}))
        flavor_conf = {"saved_model_dir": SAVED_MODEL_DIR, "model_type": "tf2-module"}
        pyfunc_conf = {"loader_module": LOADER_MODULE}
        distributions = ["tensorflow", "numpy"]
        runner = SavedModelBackend(model, None)
    flavor_conf["tensorflow_version"] = installed_version("tensorflow")
    return finish_model_dir(
        model_dir,
        flavor_name=FLAVOR_NAME,
        flavor_conf={k: v for k, v in flavor_conf.items() if v is not None},
        pyfunc_conf=pyfunc_conf,
        distributions=distributions,
        signature=signature,
        input_example=input_example,
        predict=(lambda d: runner.predict(d, None)) if input_example is not None else None,
        needs_column_names=False,
        code_paths=code_paths,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
    )


def _model_type(conf: dict[str, Any]) -> str:
    """MLflow's rule for directories that predate `model_type`: a SavedModel dir means TF1."""
    found = conf.get("model_type") or ("tf1-estimator" if "saved_model_dir" in conf else "keras")
    if found not in MODEL_TYPES:
        raise ModelLoadError(f"tensorflow model_type {found!r} is not supported; supported: {', '.join(MODEL_TYPES)}")
    return str(found)


def _read(model_dir: Path, model: Model, keras_kwargs: dict[str, Any]) -> tuple[Any, str, dict[str, Any]]:
    conf = model.flavors.get(FLAVOR_NAME) or {}
    kind = _model_type(conf)
    if kind != "keras":
        return load_saved_model(model_dir / str(conf["saved_model_dir"])), kind, conf
    base = model_dir / str(conf.get("data") or KERAS_DATA_DIR) / "model"
    for suffix in KERAS_SUFFIXES:
        if base.with_name(base.name + suffix).is_file():
            loaded = load_keras_file(base.with_name(base.name + suffix), conf.get("keras_backend"), **keras_kwargs)
            return loaded, kind, conf
    if base.is_dir():  # save_format "tf": a Keras 2 SavedModel
        _tensorflow(f"{base} (a Keras SavedModel, save_format 'tf')")
        return load_saved_model(base), "tf2-module", conf
    raise ModelLoadError(
        f"{model_dir}: no Keras model (model.keras, model.h5 or a SavedModel folder) under {base.parent}"
    )


def load_model(
    path: str | Path, saved_model_kwargs: dict[str, Any] | None = None, keras_model_kwargs: dict[str, Any] | None = None
) -> Any:
    """The `keras.Model`, or what `tf.saved_model.load` returns for a SavedModel."""
    model_dir = local_model_dir(path)
    meta = Model.load(model_dir)
    add_code_paths(model_dir, meta.flavors.get(FLAVOR_NAME) or {})
    if saved_model_kwargs and _model_type(meta.flavors.get(FLAVOR_NAME) or {}) != "keras":
        return _tensorflow("a SavedModel").saved_model.load(
            str(model_dir / str(meta.flavors[FLAVOR_NAME]["saved_model_dir"])), **saved_model_kwargs
        )
    return _read(model_dir, meta, keras_model_kwargs or {})[0]


class SavedModelBackend:
    """A SavedModel's `serving_default` signature (TF1 estimators: the recorded key), else the
    module called on a tensor."""

    def __init__(self, module: Any, signature_key: str | None) -> None:
        self.model = module
        signatures = getattr(module, "signatures", None) or {}
        self._fn = signatures.get(signature_key or "serving_default")
        self.needs_column_names = False
        self.batchable = True

    def predict(self, data: Any, params: dict[str, Any] | None) -> Any:
        tf = _tensorflow("a SavedModel")
        if hasattr(data, "to_numpy"):
            data = data.to_numpy()
        if self._fn is None:
            out = self.model(tf.constant(data))
        elif isinstance(data, dict):
            out = self._fn(**{k: tf.constant(v) for k, v in data.items()})
        else:
            out = self._fn(tf.constant(data))
        if isinstance(out, dict):
            values = {k: v.numpy() for k, v in out.items()}
            return next(iter(values.values())) if len(values) == 1 else values
        return out.numpy()


def load_pyfunc(model_dir: Path, model: Model, options: LoadOptions) -> KerasBackend | SavedModelBackend:
    loaded, kind, conf = _read(model_dir, model, {})
    if kind == "keras":
        return KerasBackend(loaded)
    return SavedModelBackend(loaded, conf.get("signature_def_key"))


def _load_pyfunc(data_path: str, model_config: dict[str, Any] | None = None) -> MlflowPyfunc:
    """MLflow's loader-module contract (see flavors.mlflow_loader)."""
    return load_for_mlflow(data_path, model_config)


__all__ = ["FLAVOR_NAME", "SavedModelBackend", "load_model", "load_pyfunc", "save_model"]
