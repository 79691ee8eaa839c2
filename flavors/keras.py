"""Keras 3 flavor (MLmodel name `keras`, as MLflow's): `.keras` files on whichever backend is installed.

MLflow's layout: `data/model.keras` (a zip of the config and weights; no pickle, and keras's
`safe_mode` refuses lambdas), `data/keras_module.txt`, and the backend the model was saved on
(`keras_backend`). A `.keras` file is backend-independent, so a model saved on TensorFlow loads
on torch and the other way round. `save_exported_model=True` (a TensorFlow SavedModel) needs
TensorFlow, and says so when it is missing.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from shipyard.exceptions import InvalidInput, ModelLoadError
from shipyard.flavors.environment import installed_version
from shipyard.flavors.mlflow_loader import MlflowPyfunc, load_for_mlflow
from shipyard.flavors.mlmodel import Model
from shipyard.flavors.model_dir import create_model_dir, finish_model_dir
from shipyard.flavors.pyfunc import LoadOptions, local_model_dir
from shipyard.flavors.signature import ModelSignature
from shipyard.mlflow_names import refuses

FLAVOR_NAME = "keras"
LOADER_MODULE = "shipyard.flavors.keras"
DATA_DIR = "data"
MODEL_FILE = "model.keras"
MODULE_SPEC_FILE = "keras_module.txt"
BACKENDS = ("tensorflow", "jax", "torch")
"""Keras 3's backends, in keras's own order of preference (its default is tensorflow)."""
BACKEND_DISTRIBUTIONS = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def import_keras(saved_backend: str | None = None) -> Any:
    """`keras`, on the backend the model was saved on when that one is installed, else on the
    first installed one.

    NOTE: keras picks its backend once, when first imported, from KERAS_BACKEND (else
    ~/.keras/keras.json, whose default, tensorflow, fails to import where TensorFlow is not
    installed). A backend the user chose (the variable set, or keras already imported) is kept."""
    if "keras" not in sys.modules and "KERAS_BACKEND" not in os.environ:
        candidates = ([saved_backend] if saved_backend in BACKENDS else []) + list(BACKENDS)
        choice = next((b for b in candidates if _installed(b)), None)
        if choice is None:
            raise ModelLoadError(f"Keras 3 needs a backend and none is installed; install one of {', '.join(BACKENDS)}")
        os.environ["KERAS_BACKEND"] = choice
    try:
        return importlib.import_module("keras")
    except ImportError as exc:
        raise ModelLoadError(
            f"keras could not be imported ({exc}); install keras>=3 and the backend KERAS_BACKEND names"
        ) from exc


def is_keras_model(model: Any) -> bool:
    """True for a Keras 3 model, without importing keras when the object cannot be one."""
    if not any(c.__module__.split(".")[0] == "keras" for c in type(model).__mro__):
        return False
    return isinstance(model, import_keras().Model)


@contextlib.contextmanager
def torch_array_quiet() -> Iterator[None]:
    """NOTE: keras on torch turns weights into numpy with `np.array(tensor)`, which numpy 2 warns
    about (torch's `__array__` takes no `copy`); the arrays are right, so the warning is silenced
    for keras's save call only."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"__array__ implementation doesn't accept a copy", category=DeprecationWarning
        )
        yield


def save_keras_file(model: Any, data_dir: Path, save_kwargs: dict[str, Any] | None) -> str:
    """Write `data_dir/model.keras` and `keras_module.txt`; returns the backend in use."""
    keras = import_keras()
    data_dir.mkdir()
    (data_dir / MODULE_SPEC_FILE).write_text("keras")
    with torch_array_quiet():
        model.save(str(data_dir / MODEL_FILE), **(save_kwargs or {}))
    return str(keras.backend.backend())


def requirements(backend: str) -> list[str]:
    """What a `.keras` model needs: keras, the backend it ran on, numpy."""
    return ["keras", BACKEND_DISTRIBUTIONS.get(backend, backend), "numpy"]


@refuses("conda_env", "mlflow_model")
def save_model(
    model: Any,
    path: str | Path,
    save_exported_model: bool = False,
    conda_env: Any = None,
    mlflow_model: Any = None,
    signature: ModelSignature | None | bool = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    save_model_kwargs: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Model:
    """Save a Keras 3 model as `data/model.keras` (MLflow's layout), or with
    `save_exported_model=True` as a TensorFlow SavedModel (`model.export`, needs tensorflow)."""
    if not is_keras_model(model):
        raise InvalidInput(f"model must be a Keras 3 keras.Model, got {type(model).__name__}")
    if save_exported_model and not _installed("tensorflow"):
        raise InvalidInput(
            "save_exported_model=True writes a TensorFlow SavedModel (keras Model.export), which needs "
            "tensorflow, and it is not installed here: pip install tensorflow, or save the .keras file "
            "(save_exported_model=False)"
        )
    model_dir = create_model_dir(path)
    if save_exported_model:
        (model_dir / DATA_DIR).mkdir()
        (model_dir / DATA_DIR / MODULE_SPEC_FILE).write_text("keras")
        model.export(str(model_dir / DATA_DIR / "model"), **(save_model_kwargs or {}))
        backend = str(import_keras().backend.backend())
    else:
        backend = save_keras_file(model, model_dir / DATA_DIR, save_model_kwargs)
    runner = KerasBackend(model) if input_example is not None else None
    distributions = requirements(backend) + (["tensorflow"] if save_exported_model else [])
    return finish_model_dir(
        model_dir,
        flavor_name=FLAVOR_NAME,
        flavor_conf={
            "data": DATA_DIR,
            "keras_version": installed_version("keras"),
            "keras_backend": backend,
            "save_exported_model": save_exported_model,
        },
        pyfunc_conf={"loader_module": LOADER_MODULE},
        distributions=list(dict.fromkeys(distributions)),
        signature=signature,
        input_example=input_example,
        predict=(lambda d: runner.predict(d, None)) if runner else None,
        needs_column_names=False,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
    )


def load_keras_file(path: Path, saved_backend: str | None, **kwargs: Any) -> Any:
    """`keras.saving.load_model` of a `.keras` (or legacy `.h5`) file."""
    keras = import_keras(saved_backend)
    return keras.saving.load_model(str(path), **kwargs)


def _read(model_dir: Path, model: Model, kwargs: dict[str, Any]) -> tuple[Any, bool]:
    """(the model, whether it is an exported SavedModel)."""
    conf = model.flavors.get(FLAVOR_NAME) or {}
    data = model_dir / str(conf.get("data") or DATA_DIR)
    base = data / "model" if data.is_dir() else data
    if conf.get("save_exported_model"):
        return load_saved_model(base), True
    path = base.with_name(base.name + ".keras")
    if not path.is_file():
        raise ModelLoadError(f"{model_dir}: no Keras model file {path.relative_to(model_dir)} found")
    return load_keras_file(path, conf.get("keras_backend"), **kwargs), False


def load_saved_model(path: Path) -> Any:
    """`tf.saved_model.load`, or a clear error where TensorFlow is not installed."""
    if not _installed("tensorflow"):
        raise ModelLoadError(
            f"{path} is a TensorFlow SavedModel; loading it needs tensorflow, which is not installed here "
            "(pip install tensorflow)"
        )
    return importlib.import_module("tensorflow").saved_model.load(str(path))


def load_model(
    path: str | Path, custom_objects: dict[str, Any] | None = None, load_model_kwargs: dict[str, Any] | None = None
) -> Any:
    """The `keras.Model` (or, for an exported model, what `tf.saved_model.load` returns)."""
    model_dir = local_model_dir(path)
    kwargs = {**(load_model_kwargs or {}), **({"custom_objects": custom_objects} if custom_objects else {})}
    return _read(model_dir, Model.load(model_dir), kwargs)[0]


class KerasBackend:
    """The model called on the batch (no data adapter, progress bar or step function; on torch,
    under `torch.no_grad`); numpy out. An exported model: its `serve` endpoint.

    NOTE: not `keras.ops.convert_to_numpy`: on torch it calls `np.array(tensor)`, which numpy 2
    warns about (torch's `__array__` takes no `copy`); `.detach().cpu().numpy()` does not."""

    def __init__(self, model: Any, exported: bool = False) -> None:
        self.model = model
        self.exported = exported
        self.needs_column_names = False
        self.batchable = True
        backend = "tensorflow" if exported else str(import_keras().backend.backend())
        self._no_grad: Any = importlib.import_module("torch").no_grad if backend == "torch" else contextlib.nullcontext

    def predict(self, data: Any, params: dict[str, Any] | None) -> Any:
        if hasattr(data, "to_numpy"):  # a DataFrame: its values, as MLflow passes them
            data = data.to_numpy()
        if self.exported:
            return _numpy(self.model.serve(data))
        with self._no_grad():
            return _numpy(self.model(data, training=False))


def _numpy(out: Any) -> Any:
    if isinstance(out, dict):
        return {k: _numpy(v) for k, v in out.items()}
    if isinstance(out, (list, tuple)):
        return [_numpy(v) for v in out]
    if hasattr(out, "detach"):  # a torch tensor
        return out.detach().cpu().numpy()
    return out.numpy() if hasattr(out, "numpy") else np.asarray(out)


def load_pyfunc(model_dir: Path, model: Model, options: LoadOptions) -> KerasBackend:
    loaded, exported = _read(model_dir, model, {})
    return KerasBackend(loaded, exported)


def _load_pyfunc(data_path: str, model_config: dict[str, Any] | None = None) -> MlflowPyfunc:
    """MLflow's loader-module contract (see flavors.mlflow_loader)."""
    return load_for_mlflow(data_path, model_config)


__all__ = [
    "FLAVOR_NAME",
    "KerasBackend",
    "import_keras",
    "is_keras_model",
    "load_keras_file",
    "load_model",
    "load_pyfunc",
    "load_saved_model",
    "requirements",
    "save_keras_file",
    "save_model",
]
