"""Custom Python models: a `PythonModel` subclass with `load_context` and `predict`, saved with
cloudpickle together with its artifacts and code paths.

Also loads MLflow's `mlflow.pyfunc.model` directories, without mlflow installed: the pickle's
references to MLflow's classes (`mlflow.pyfunc.PythonModel`, ...) are mapped to Shipyard's by
`flavors.mlflow_pickle`. NOTE: a class pickled by reference from a module (code_paths) that
itself imports mlflow still needs mlflow; the load error says so.
"""

from __future__ import annotations

import inspect
import shutil
from pathlib import Path
from typing import Any, ClassVar

from shipyard.exceptions import InvalidInput, ModelLoadError
from shipyard.flavors.environment import installed_version
from shipyard.flavors.mlflow_loader import MlflowPyfunc, load_for_mlflow
from shipyard.flavors.mlmodel import PYFUNC_FLAVOR, Model
from shipyard.flavors.model_dir import create_model_dir, finish_model_dir
from shipyard.flavors.pyfunc import LoadOptions, load_model, unpickle
from shipyard.flavors.signature import ModelSignature

LOADER_MODULE = "shipyard.flavors.python_model"
PICKLE_FILE = "python_model.pkl"
ARTIFACTS_DIR = "artifacts"
CONFIG_KEY = "config"
"""MLflow's key for `model_config` in the python_function flavor (older Shipyard versions wrote
`model_config`; both are read)."""


class PythonModelContext:
    """What `load_context` and `predict` receive: artifact paths (absolute, local) and config."""

    # NOTE: stored under MLflow's attribute names, so a context that MLflow pickled (mapped to this
    # class by flavors.mlflow_pickle) is restored with working properties.
    def __init__(self, artifacts: dict[str, str], model_config: dict[str, Any] | None = None) -> None:
        self._artifacts = artifacts
        self._model_config = model_config or {}

    @property
    def artifacts(self) -> dict[str, str]:
        return self._artifacts

    @property
    def model_config(self) -> dict[str, Any]:
        return self._model_config or {}  # MLflow's may hold None


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
        conf[CONFIG_KEY] = model_config
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
        # MLflow's rule: a parameter named context, or two besides params (ctx, model_input).
        positional = [
            name
            for name, p in params.items()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and name not in ("self", "params")
        ]
        self._takes_context = "context" in params or len(positional) == 2
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
    if conf.get("model_code_path"):
        raise ModelLoadError(
            f"{model_dir}: a models-from-code directory (model_code_path {conf['model_code_path']!r}) "
            "is not supported; save the model object with python_model=<instance>"
        )
    if conf.get("python_model_compression"):
        raise ModelLoadError(
            f"{model_dir}: python_model_compression {conf['python_model_compression']!r} is not supported; "
            "save the model uncompressed"
        )
    file_name = conf.get("python_model")
    if not file_name:
        raise ModelLoadError(f"{model_dir}: python_function names no python_model file")
    obj = unpickle(model_dir / file_name, "cloudpickle", allow_pickle=options.allow_pickle)
    artifacts = {
        name: str(model_dir / (entry["path"] if isinstance(entry, dict) else entry))
        for name, entry in (conf.get("artifacts") or {}).items()
    }
    context = PythonModelContext(artifacts, _model_config(conf, options.model_config) or None)
    obj.load_context(context)
    batchable = conf.get("batchable")
    if batchable is None:
        batchable = bool(getattr(obj, "batchable", True))
    return PythonModelBackend(_Predictor(obj, context, loaded=True), bool(batchable))


def _model_config(conf: dict[str, Any], overrides: dict[str, Any] | None) -> dict[str, Any]:
    """The saved config with load-time overrides; as in MLflow, only saved keys can be overridden
    (MLflow warns and drops the others; Shipyard refuses them)."""
    saved = dict(conf.get(CONFIG_KEY) or conf.get("model_config") or {})
    unknown = sorted(set(overrides or {}) - set(saved))
    if unknown:
        raise InvalidInput(
            f"model_config: keys {unknown} are not in the model's saved config "
            f"(saved keys: {sorted(saved) or 'none'}); only saved keys can be overridden at load"
        )
    return {**saved, **(overrides or {})}


def _load_pyfunc(data_path: str, model_config: dict[str, Any] | None = None) -> MlflowPyfunc:
    """MLflow's loader-module contract (see flavors.mlflow_loader)."""
    return load_for_mlflow(data_path, model_config)


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
