"""Custom Python models: a `PythonModel` subclass with `load_context` and `predict`, saved with
cloudpickle together with its artifacts and code paths.

Also loads MLflow's `mlflow.pyfunc.model` directories. NOTE: MLflow pickles the user's object,
whose class subclasses `mlflow.pyfunc.PythonModel`; unpickling it needs `mlflow` importable, so
those directories load only where mlflow is installed (sklearn, onnx and pytorch ones do not).
"""

from __future__ import annotations

import inspect
import shutil
from pathlib import Path
from typing import Any, ClassVar

from shipyard.exceptions import InvalidInput, ModelLoadError
from shipyard.flavors.environment import installed_version
from shipyard.flavors.mlmodel import PYFUNC_FLAVOR, Model
from shipyard.flavors.model_dir import create_model_dir, finish_model_dir
from shipyard.flavors.pyfunc import LoadOptions, load_model, unpickle
from shipyard.flavors.signature import ModelSignature

LOADER_MODULE = "shipyard.flavors.python_model"
PICKLE_FILE = "python_model.pkl"
ARTIFACTS_DIR = "artifacts"


class PythonModelContext:
    """What `load_context` and `predict` receive: artifact paths (absolute, local) and config."""

    def __init__(self, artifacts: dict[str, str], model_config: dict[str, Any] | None = None) -> None:
        self.artifacts = artifacts
        self.model_config = model_config or {}


class PythonModel:
    """Subclass and implement `predict(context, model_input, params=None)`.

    Set `batchable = False` on the class when rows of different requests must not be
    concatenated into one predict call (e.g. the model treats its input as one whole)."""

    batchable: ClassVar[bool] = True

    def load_context(self, context: PythonModelContext) -> None:
        """Load artifacts into memory once, at model load."""

    def predict(self, context: PythonModelContext, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        raise NotImplementedError("PythonModel subclasses implement predict")


def save_model(
    path: str | Path,
    python_model: Any,
    *,
    artifacts: dict[str, str | Path] | None = None,
    code_paths: list[str | Path] | None = None,
    signature: ModelSignature | None | bool = None,
    input_example: Any = None,
    batchable: bool | None = None,
    model_config: dict[str, Any] | None = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Model:
    """Save a PythonModel instance; `artifacts` (name -> local file or folder) are copied in."""
    if not callable(getattr(python_model, "predict", None)):
        raise InvalidInput(f"python_model {type(python_model).__name__} has no predict method")
    import cloudpickle

    model_dir = create_model_dir(path)
    recorded: dict[str, dict[str, str]] = {}
    for name, src in (artifacts or {}).items():
        source = Path(src)
        if not source.exists():
            raise InvalidInput(f"artifact {name!r}: {str(source)!r} does not exist")
        rel = Path(ARTIFACTS_DIR) / source.name
        (model_dir / ARTIFACTS_DIR).mkdir(exist_ok=True)
        if (model_dir / rel).exists():
            raise InvalidInput(f"artifact {name!r}: another artifact is also named {source.name!r}")
        if source.is_dir():
            shutil.copytree(source, model_dir / rel)
        else:
            shutil.copy2(source, model_dir / rel)
        recorded[name] = {"path": rel.as_posix(), "uri": str(src)}
    with open(model_dir / PICKLE_FILE, "wb") as fh:
        cloudpickle.dump(python_model, fh)
    conf: dict[str, Any] = {
        "loader_module": LOADER_MODULE,
        "python_model": PICKLE_FILE,
        "cloudpickle_version": installed_version("cloudpickle"),
    }
    if recorded:
        conf["artifacts"] = recorded
    if model_config:
        conf["model_config"] = model_config
    if batchable is not None:
        conf["batchable"] = bool(batchable)
    context = PythonModelContext({k: str(model_dir / v["path"]) for k, v in recorded.items()}, model_config)
    predictor = _Predictor(python_model, context, loaded=False)
    return finish_model_dir(
        model_dir,
        flavor_name=PYFUNC_FLAVOR,
        flavor_conf={},
        pyfunc_conf=conf,
        distributions=["cloudpickle", "numpy", "pandas"],
        signature=signature,
        input_example=input_example,
        predict=lambda data: predictor.predict(data, None),
        code_paths=code_paths,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
    )


class _Predictor:
    """Calls predict with the arguments its signature takes (with or without context/params)."""

    def __init__(self, obj: Any, context: PythonModelContext, *, loaded: bool) -> None:
        self.obj = obj
        self.context = context
        self._loaded = loaded
        params = inspect.signature(obj.predict).parameters
        positional = [p for p in params.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        self._takes_context = len(positional) >= 2 or "context" in params
        self._takes_params = "params" in params or any(p.kind == p.VAR_KEYWORD for p in params.values())

    def predict(self, data: Any, params: dict[str, Any] | None) -> Any:
        if not self._loaded:
            self.obj.load_context(self.context)
            self._loaded = True
        args = (self.context, data) if self._takes_context else (data,)
        if self._takes_params:
            return self.obj.predict(*args, params=params)
        return self.obj.predict(*args)


class PythonModelBackend:
    """The user's object after `load_context`."""

    def __init__(self, predictor: _Predictor, batchable: bool) -> None:
        self._predictor = predictor
        self.model = predictor.obj
        self.needs_column_names = True
        self.batchable = batchable

    def predict(self, data: Any, params: dict[str, Any] | None) -> Any:
        return self._predictor.predict(data, params)


def load_pyfunc(model_dir: Path, model: Model, options: LoadOptions) -> PythonModelBackend:
    conf = model.flavors.get(PYFUNC_FLAVOR) or {}
    file_name = conf.get("python_model")
    if not file_name:
        raise ModelLoadError(f"{model_dir}: python_function names no python_model file")
    obj = unpickle(model_dir / file_name, "cloudpickle", allow_pickle=options.allow_pickle)
    artifacts = {
        name: str(model_dir / (entry["path"] if isinstance(entry, dict) else entry))
        for name, entry in (conf.get("artifacts") or {}).items()
    }
    context = PythonModelContext(artifacts, conf.get("model_config"))
    obj.load_context(context)
    batchable = conf.get("batchable")
    if batchable is None:
        batchable = bool(getattr(obj, "batchable", True))
    return PythonModelBackend(_Predictor(obj, context, loaded=True), bool(batchable))


def load_python_model(path: str | Path, *, allow_pickle: bool = True) -> Any:
    """The user's PythonModel object, after `load_context`."""
    backend = load_model(path, allow_pickle=allow_pickle).backend
    if not isinstance(backend, PythonModelBackend):
        raise InvalidInput(f"{path} is not a python_model directory")
    return backend.model


__all__ = [
    "PythonModel",
    "PythonModelBackend",
    "PythonModelContext",
    "load_pyfunc",
    "load_python_model",
    "save_model",
]
