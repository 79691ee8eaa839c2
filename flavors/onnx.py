"""ONNX flavor: save an `onnx.ModelProto` and serve it with an onnxruntime session.

Providers and thread pools are chosen at load (`LoadOptions`). Defaults: the saved providers that
this onnxruntime has, an intra-op pool of one thread per usable CPU, one inter-op thread, and
spinning off, so idle worker threads do not burn the CPU the server's other threads need.
The input schema comes from the graph itself when the MLmodel has no signature.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from shipyard.exceptions import InvalidInput, ModelLoadError
from shipyard.flavors.environment import installed_version
from shipyard.flavors.mlflow_loader import MlflowPyfunc, load_for_mlflow
from shipyard.flavors.mlmodel import PYFUNC_FLAVOR, Model
from shipyard.flavors.model_dir import create_model_dir, finish_model_dir
from shipyard.flavors.pyfunc import LoadOptions, local_model_dir
from shipyard.flavors.signature import ModelSignature, Schema, TensorSpec
from shipyard.mlflow_names import refuses

FLAVOR_NAME = "onnx"
LOADER_MODULE = "shipyard.flavors.onnx"
MODEL_FILE = "model.onnx"
DEFAULT_PROVIDERS = ("CPUExecutionProvider",)

# ONNX TensorProto element types -> numpy dtypes (the ones a signature can describe).
_ELEM_DTYPES = {
    1: np.float32,
    2: np.uint8,
    3: np.int8,
    4: np.uint16,
    5: np.int16,
    6: np.int32,
    7: np.int64,
    8: np.object_,
    9: np.bool_,
    10: np.float16,
    11: np.float64,
    12: np.uint32,
    13: np.uint64,
}


def _graph_schema(graph_values: Any) -> Schema | None:
    specs = []
    for value in graph_values:
        tensor = value.type.tensor_type
        dtype = _ELEM_DTYPES.get(tensor.elem_type)
        if dtype is None or not tensor.HasField("shape"):
            return None
        shape = [d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim]
        specs.append(TensorSpec(np.dtype(dtype), tuple(shape), value.name))
    return Schema(specs) if specs else None


def graph_signature(onnx_model: Any) -> ModelSignature | None:
    """Signature read from the graph's declared inputs and outputs (initializers excluded)."""
    init = {i.name for i in onnx_model.graph.initializer}
    inputs = _graph_schema([v for v in onnx_model.graph.input if v.name not in init])
    if inputs is None:
        return None
    return ModelSignature(inputs=inputs, outputs=_graph_schema(onnx_model.graph.output))


@refuses("conda_env", "mlflow_model", "onnx_session_options", "extra_files")
def save_model(
    onnx_model: Any,
    path: str | Path,
    conda_env: Any = None,
    code_paths: list[str | Path] | None = None,
    mlflow_model: Any = None,
    signature: ModelSignature | None | bool = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    onnx_execution_providers: list[str] | None = None,
    onnx_session_options: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    save_as_external_data: bool = False,
    extra_files: Any = None,
) -> Model:
    """Save an ONNX model (ModelProto, or path to a .onnx file). Without signature or example
    the signature is read from the graph.

    MLflow's parameters in MLflow's order (see shipyard.mlflow_names). NOTE: save_as_external_data
    defaults to False (MLflow: True), so a model stays one file unless asked."""
    providers = onnx_execution_providers
    import onnx

    if isinstance(onnx_model, (str, Path)):
        onnx_model = onnx.load(str(onnx_model))
    if not isinstance(onnx_model, onnx.ModelProto):
        raise InvalidInput(f"onnx_model must be an onnx.ModelProto or a path, got {type(onnx_model).__name__}")
    onnx.checker.check_model(onnx_model)
    model_dir = create_model_dir(path)
    onnx.save(onnx_model, str(model_dir / MODEL_FILE), save_as_external_data=save_as_external_data)
    if signature is None and input_example is None:
        signature = graph_signature(onnx_model)
    session_backend = None
    if signature is None and input_example is not None:
        session_backend = _make_backend(model_dir / MODEL_FILE, list(providers or DEFAULT_PROVIDERS), LoadOptions())
    return finish_model_dir(
        model_dir,
        flavor_name=FLAVOR_NAME,
        flavor_conf={
            "data": MODEL_FILE,
            "onnx_version": installed_version("onnx"),
            "onnxruntime_version": installed_version("onnxruntime"),
            "providers": list(providers or DEFAULT_PROVIDERS),
        },
        pyfunc_conf={"loader_module": LOADER_MODULE, "data": MODEL_FILE},
        distributions=["onnx", "onnxruntime", "numpy"],
        signature=signature,
        input_example=input_example,
        predict=(lambda d: session_backend.predict(d, None)) if session_backend else None,
        needs_column_names=False,
        code_paths=code_paths,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
    )


def load_model(path: str | Path) -> Any:
    """The `onnx.ModelProto` of a model directory."""
    import onnx

    model_dir = local_model_dir(path)
    conf = Model.load(model_dir).flavors.get(FLAVOR_NAME) or {}
    return onnx.load(str(model_dir / conf.get("data", MODEL_FILE)))


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class OnnxBackend:
    """An onnxruntime session; returns {output name: array} like MLflow's onnx pyfunc."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.model = session
        self.needs_column_names = False
        self.batchable = True
        self._inputs = [(i.name, i.type) for i in session.get_inputs()]
        self._outputs = [o.name for o in session.get_outputs()]
        self._first = self._inputs[0][0] if len(self._inputs) == 1 else None
        self.input_schema = _session_schema(session)

    def predict(self, data: Any, params: dict[str, Any] | None) -> dict[str, np.ndarray]:
        feed = self._feed(data)
        return dict(zip(self._outputs, self.session.run(self._outputs, feed), strict=True))

    def _feed(self, data: Any) -> dict[str, Any]:
        if type(data) is dict and len(data) == 1 and self._first in data:
            return data  # the hot path: what the tensor plan produces for a one-input model
        if isinstance(data, np.ndarray):
            if len(self._inputs) != 1:
                raise InvalidInput(
                    f"the model has {len(self._inputs)} inputs ({[n for n, _ in self._inputs]}); "
                    "send a dict of named tensors"
                )
            return {self._inputs[0][0]: data}
        if isinstance(data, dict):
            if len(data) == len(self._inputs) and all(name in data for name, _ in self._inputs):
                return data  # already keyed by input name (what the tensor plan produces)
            if len(data) == 1 and len(self._inputs) == 1:
                return {self._inputs[0][0]: np.asarray(next(iter(data.values())))}
            return {name: np.asarray(data[name]) for name, _ in self._inputs if name in data}
        if hasattr(data, "to_numpy"):  # DataFrame: one input takes all columns, else by name
            if len(self._inputs) == 1:
                return {self._inputs[0][0]: data.to_numpy()}
            return {name: data[name].to_numpy() for name, _ in self._inputs}
        raise InvalidInput(f"unsupported input type {type(data).__name__} for an ONNX model")


def _session_schema(session: Any) -> Schema | None:
    names = {
        "tensor(float)": np.float32,
        "tensor(double)": np.float64,
        "tensor(int64)": np.int64,
        "tensor(int32)": np.int32,
        "tensor(bool)": np.bool_,
        "tensor(string)": np.object_,
        "tensor(float16)": np.float16,
        "tensor(uint8)": np.uint8,
        "tensor(int8)": np.int8,
    }
    specs = []
    for i in session.get_inputs():
        if i.type not in names:
            return None
        shape = tuple(d if isinstance(d, int) else -1 for d in i.shape)
        specs.append(TensorSpec(np.dtype(names[i.type]), shape, i.name))
    return Schema(specs) if specs else None


def _make_backend(path: Path, saved_providers: list[str], options: LoadOptions) -> OnnxBackend:
    import onnxruntime as ort

    available = set(ort.get_available_providers())
    wanted = list(options.onnx_providers or saved_providers or DEFAULT_PROVIDERS)
    providers = [p for p in wanted if p in available] or list(DEFAULT_PROVIDERS)
    so = ort.SessionOptions()
    so.intra_op_num_threads = options.intra_op_threads or _usable_cpus()
    so.inter_op_num_threads = options.inter_op_threads or 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return OnnxBackend(ort.InferenceSession(str(path), sess_options=so, providers=providers))


def load_pyfunc(model_dir: Path, model: Model, options: LoadOptions) -> OnnxBackend:
    conf = model.flavors.get(FLAVOR_NAME) or {}
    file_name = conf.get("data") or (model.flavors.get(PYFUNC_FLAVOR) or {}).get("data")
    if not file_name:
        raise ModelLoadError(f"{model_dir}: the onnx flavor names no model file")
    return _make_backend(model_dir / file_name, list(conf.get("providers") or []), options)


def _load_pyfunc(data_path: str, model_config: dict[str, Any] | None = None) -> MlflowPyfunc:
    """MLflow's loader-module contract (see flavors.mlflow_loader)."""
    return load_for_mlflow(data_path, model_config)


__all__ = ["FLAVOR_NAME", "OnnxBackend", "graph_signature", "load_model", "load_pyfunc", "save_model"]
