"""Generic load and predict: one dispatch from an MLmodel to its flavor, and the one place that
unpickles.

`load_model(path)` reads `MLmodel`, maps `python_function.loader_module` (Shipyard's or MLflow's)
to a flavor through `FLAVORS`, and wraps the flavor's backend in a `PyFuncModel` whose input plan
was built once from the signature. When a load fails, the error lists every recorded version
(Python, Shipyard, the framework) that differs from the running one.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd

from shipyard.exceptions import InvalidInput, InvalidState, ModelLoadError, ShipyardError, UnsafeModelRefused
from shipyard.flavors.enforcement import ColumnPlan, enforce_params, make_input_plan
from shipyard.flavors.environment import version_differences
from shipyard.flavors.input_example import read_input_example
from shipyard.flavors.mlflow_pickle import load_pickle
from shipyard.flavors.mlmodel import PYFUNC_FLAVOR, Model
from shipyard.flavors.signature import ModelSignature, TensorSpec
from shipyard.flavors.table import FLAVORS, LOADER_MODULES, RECORDED_VERSIONS
from shipyard.lazy import load

PICKLE_FORMATS = frozenset({"pickle", "cloudpickle", "torch", "torch_export", "paddle", "paddle_jit"})


@dataclass(frozen=True)
class LoadOptions:
    """How to load: the pickle policy and the per-framework runtime choices."""

    allow_pickle: bool = True
    device: str | None = None
    """torch: where the model runs ("cpu", "cuda", "cuda:1"); None = cuda when available."""
    onnx_providers: tuple[str, ...] | None = None
    """onnxruntime execution providers, in order; None = the saved list, filtered to available."""
    intra_op_threads: int | None = None
    inter_op_threads: int | None = None
    model_config: dict[str, Any] | None = None
    """python models: keys that override the saved `model_config` (MLflow's load-time config)."""
    skops_trusted_types: tuple[str, ...] = ()
    """skops files: the loading side's trusted types (with `allow_pickle=False` the only ones)."""


class Backend(Protocol):
    """What a flavor's `load_pyfunc` returns: the bare framework call, plus two facts about it."""

    needs_column_names: bool
    batchable: bool
    # Optional: `input_schema: Schema | None`, used when the MLmodel has no input signature.

    def predict(self, data: Any, params: dict[str, Any] | None) -> Any: ...


def unpickle(path: Path, fmt: str, *, allow_pickle: bool, map_location: Any = None) -> Any:
    """Every pickle-based read in Shipyard goes through here, under one policy.

    NOTE: unpickling runs code chosen by whoever wrote the file; `allow_pickle=False` refuses it
    before the file is opened. Plain pickles go through `MlflowUnpickler`, so those that MLflow
    wrote load without mlflow installed."""
    if fmt not in PICKLE_FORMATS:
        raise InvalidInput(f"unknown pickle format {fmt!r}; known: {sorted(PICKLE_FORMATS)}")
    if not allow_pickle:
        raise UnsafeModelRefused(
            f"refusing to load {path.name}: it is a {fmt} file and loading pickles is disabled "
            "(allow_pickle=False / SHIPYARD_ALLOW_PICKLE=false), since unpickling runs arbitrary "
            "code. Re-save in a pickle-free format (sklearn: serialization_format='skops'; "
            "torch: TorchScript; or ONNX), or allow pickles for models you trust."
        )
    if fmt in ("pickle", "cloudpickle"):
        with open(path, "rb") as fh:
            return load_pickle(fh)  # the policy check above is the guard
    if fmt == "paddle":  # a state dict (.pdparams): paddle.load unpickles it
        return load("paddle:load")(str(path))
    if fmt == "paddle_jit":  # a legacy program: paddle.jit.load unpickles its .pdiparams.info
        return load("paddle.jit:load")(str(path))
    import torch  # heavy: only when a torch model is loaded

    if fmt == "torch":
        return torch.load(path, map_location=map_location, weights_only=False)
    return torch.export.load(path)


def local_model_dir(uri: str | Path) -> Path:
    """A local path or `file://` URI as a directory holding an MLmodel file."""
    text = str(uri)
    if "://" in text or text.startswith("file:"):
        parsed = urlparse(text)
        if parsed.scheme != "file":
            raise InvalidInput(
                f"model URI scheme {parsed.scheme!r} is not a local path; "
                "flavors.pyfunc loads local paths and file:// URIs"
            )
        text = unquote(parsed.path)
    path = Path(text).expanduser()
    if not path.is_dir():
        raise InvalidInput(f"model path {str(path)!r} is not a directory")
    return path


def add_code_paths(model_dir: Path, *confs: dict[str, Any]) -> None:
    """Put a model's `code/` folder on sys.path so pickled classes from it import.

    NOTE: sys.path is process-wide; this is what MLflow does too and what code_paths means."""
    for conf in confs:
        code = conf.get("code")
        if code:
            entry = str((model_dir / code).resolve())
            if entry not in sys.path:
                sys.path.insert(0, entry)


def recorded_versions(model: Model, flavor: str) -> dict[str, str | None]:
    """Distribution -> version as recorded in the MLmodel file."""
    pyfunc_conf = model.flavors.get(PYFUNC_FLAVOR, {})
    out: dict[str, str | None] = {"python": pyfunc_conf.get("python_version")}
    if model.shipyard_version:
        out["shipyard"] = model.shipyard_version
    conf = model.flavors.get(flavor, {})
    for key, dist in RECORDED_VERSIONS.get(flavor, {}).items():
        if conf.get(key):
            out[dist] = str(conf[key])
    if flavor == PYFUNC_FLAVOR and model.mlflow_version:
        out["mlflow"] = str(model.mlflow_version)
    return out


def _load_failure(model_dir: Path, flavor: str, model: Model, exc: Exception) -> ModelLoadError:
    recorded = recorded_versions(model, flavor)
    diffs = version_differences(recorded)
    if diffs:
        versions = "recorded versions that differ from this environment: " + "; ".join(diffs)
    else:
        shown = ", ".join(f"{k} {v}" for k, v in recorded.items() if v)
        versions = f"all recorded versions match this environment ({shown})"
    return ModelLoadError(f"could not load the {flavor} model at {model_dir}: {type(exc).__name__}: {exc}. {versions}")


def load_model(path: str | Path, *, allow_pickle: bool = True, **options: Any) -> PyFuncModel:
    """Load a local model directory for generic predict. `options` are `LoadOptions` fields."""
    model_dir = local_model_dir(path)
    model = Model.load(model_dir)
    conf = model.flavors.get(PYFUNC_FLAVOR)
    if conf is None:
        raise ModelLoadError(
            f"{model_dir} has no python_function flavor (flavors: {sorted(model.flavors)}), "
            "so it cannot be loaded for generic predict"
        )
    loader_module = str(conf.get("loader_module"))
    flavor = LOADER_MODULES.get(loader_module)
    if flavor is None:
        raise ModelLoadError(
            f"{model_dir}: loader_module {loader_module!r} is not supported; supported: "
            f"{', '.join(sorted(LOADER_MODULES))}"
        )
    opts = LoadOptions(allow_pickle=allow_pickle, **options)
    loader = load(FLAVORS[flavor])
    add_code_paths(model_dir, conf, model.flavors.get(flavor, {}))
    try:
        backend = loader(model_dir, model, opts)
    except (UnsafeModelRefused, InvalidInput):
        raise
    except Exception as exc:  # noqa: BLE001 - any failure becomes one message with versions
        raise _load_failure(model_dir, flavor, model, exc) from exc
    return PyFuncModel(model_dir, model, backend)


class PyFuncModel:
    """A loaded model behind one interface: prepare (enforce) once, then the bare predict."""

    def __init__(self, model_dir: Path, metadata: Model, backend: Backend) -> None:
        self.model_dir = model_dir
        self.metadata = metadata
        self.signature: ModelSignature | None = metadata.signature
        self._backend = backend
        inputs = self.signature.inputs if self.signature is not None else None
        if inputs is None:
            # A backend may know its inputs without a saved signature (an ONNX graph does).
            inputs = getattr(backend, "input_schema", None)
        self.input_schema = inputs
        self._plan = make_input_plan(inputs, needs_names=backend.needs_column_names)
        # Column models that need names: the prepared block becomes a DataFrame once per call.
        self._frame_plan = (
            self._plan if isinstance(self._plan, ColumnPlan) and self._plan.frame_columns is not None else None
        )
        self._params = self.signature.params if self.signature is not None else None
        rows = inputs is not None and all(
            not isinstance(s, TensorSpec) or (s.shape and s.shape[0] == -1) for s in inputs.inputs
        )
        self.batchable: bool = bool(backend.batchable and rows)

    @property
    def backend(self) -> Backend:
        """The flavor's wrapper (its `.model` is the framework object)."""
        return self._backend

    def prepare_input(self, data: Any) -> Any:
        """Validate and convert one request's data (see docs/signatures.md).

        Column schemas whose columns share one dtype give a 2-D ndarray (rows x columns, schema
        order) even when the model needs names: pandas is paid once per batch, in
        `predict_prepared`, not once per request."""
        return self._plan.prepare(data)

    def enforce_params(self, params: dict[str, Any] | None) -> dict[str, Any] | None:
        return enforce_params(self._params, params)

    def predict_prepared(self, prepared: Any, params: dict[str, Any] | None = None) -> Any:
        """The framework call on already-prepared input (one request's, or several concatenated
        along axis 0); no validation. A block for a names-needing model is wrapped into a
        DataFrame here (columns from the schema, no copy)."""
        if self._frame_plan is not None:
            prepared = self._frame_plan.to_frame(prepared)
        return self._backend.predict(prepared, params)

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        if self._params is not None:
            params = enforce_params(self._params, params)
        plan = self._frame_plan
        if plan is not None:
            # NOTE: an already-right DataFrame goes through untouched (its index kept), as before.
            prepared = data if plan.passes_as_is(data) else plan.to_frame(plan.prepare(data))
            return self._backend.predict(prepared, params)
        return self._backend.predict(self._plan.prepare(data), params)

    def input_example(self) -> Any | None:
        """The saved example, already prepared (as `prepare_input` gives it, so a block for a
        column model), ready for `predict_prepared`; None when the model has none."""
        raw = read_input_example(self.model_dir, self.metadata.saved_input_example_info)
        if raw is None:
            return None
        if self.input_schema is None:  # nothing to parse against: the natural Python form
            info = self.metadata.saved_input_example_info or {}
            if info.get("type") == "dataframe":
                return pd.DataFrame(raw)
            return {k: np.asarray(v) for k, v in raw.items()} if isinstance(raw, dict) else np.asarray(raw)
        try:
            return self._plan.prepare(raw)
        except ShipyardError:
            return None

    def unwrap_python_model(self) -> Any:
        """The user's `PythonModel` instance (after `load_context`), to call its other methods;
        models of other flavors have none, as in MLflow."""
        conf = self.metadata.flavors.get(PYFUNC_FLAVOR, {})
        model = getattr(self._backend, "model", None)
        if not conf.get("python_model") or model is None:
            raise InvalidState(
                f"unwrap_python_model: the model at {self.model_dir} is not a python model "
                f"(loader_module {conf.get('loader_module')!r}); use .backend.model for the framework object"
            )
        return model

    def __repr__(self) -> str:
        conf = self.metadata.flavors.get(PYFUNC_FLAVOR, {})
        return f"PyFuncModel(loader_module={conf.get('loader_module')!r}, dir={str(self.model_dir)!r})"


__all__ = [
    "Backend",
    "LoadOptions",
    "PICKLE_FORMATS",
    "PyFuncModel",
    "add_code_paths",
    "load_model",
    "local_model_dir",
    "recorded_versions",
    "unpickle",
]
