"""PyTorch flavor (MLmodel name `pytorch`, as MLflow's): whole-model `torch.save` or TorchScript.

Inference runs under `torch.inference_mode()` on a device chosen at load (`LoadOptions.device`,
default cuda when available). Reads MLflow's `pytorch` directories: `data/model.pth` (pickle) and
`data/model.pt2` (`torch.export`, which also unpickles its weights, so both are refused when
pickles are). TorchScript (`data/model.pt`) loads without pickle.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from shipyard.exceptions import InvalidInput, ModelLoadError
from shipyard.flavors.environment import installed_version
from shipyard.flavors.mlflow_loader import MlflowPyfunc, load_for_mlflow
from shipyard.flavors.mlmodel import PYFUNC_FLAVOR, Model
from shipyard.flavors.model_dir import create_model_dir, finish_model_dir
from shipyard.flavors.pyfunc import LoadOptions, add_code_paths, local_model_dir, unpickle
from shipyard.flavors.signature import ModelSignature
from shipyard.mlflow_names import refuses

FLAVOR_NAME = "pytorch"
LOADER_MODULE = "shipyard.flavors.torch"
DATA_DIR = "data"
FILES = {"pickle": "model.pth", "torchscript": "model.pt", "pt2": "model.pt2"}


@refuses("conda_env", "mlflow_model", "pickle_module", "extra_files", "export_model")
def save_model(
    pytorch_model: Any,
    path: str | Path,
    conda_env: Any = None,
    mlflow_model: Any = None,
    code_paths: list[str | Path] | None = None,
    pickle_module: Any = None,
    signature: ModelSignature | None | bool = None,
    input_example: Any = None,
    extra_files: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    export_model: bool = False,
    serialization_format: str | None = None,
) -> Model:
    """Save an `nn.Module` ("pickle": whole model via torch.save + cloudpickle) or a
    `torch.jit.ScriptModule` ("torchscript", the default for script modules).

    MLflow's parameters in MLflow's order (see shipyard.mlflow_names)."""
    import cloudpickle
    import torch

    if not isinstance(pytorch_model, torch.nn.Module):
        raise InvalidInput(f"pytorch_model must be a torch.nn.Module, got {type(pytorch_model).__name__}")
    is_script = isinstance(pytorch_model, torch.jit.ScriptModule)
    fmt = serialization_format or ("torchscript" if is_script else "pickle")
    if fmt not in ("pickle", "torchscript"):
        raise InvalidInput(f"serialization_format {fmt!r} is not supported; allowed: pickle, torchscript")
    if fmt == "torchscript" and not is_script:
        raise InvalidInput(
            "serialization_format 'torchscript' needs a torch.jit.ScriptModule "
            "(use torch.jit.script or torch.jit.trace first)"
        )
    model_dir = create_model_dir(path)
    (model_dir / DATA_DIR).mkdir()
    target = model_dir / DATA_DIR / FILES[fmt]
    if fmt == "torchscript":
        with _torchscript_quiet():
            torch.jit.save(pytorch_model, str(target))
    else:
        torch.save(pytorch_model, target, pickle_module=cloudpickle)
    backend = TorchBackend(pytorch_model, torch.device("cpu")) if input_example is not None else None
    return finish_model_dir(
        model_dir,
        flavor_name=FLAVOR_NAME,
        flavor_conf={
            "model_data": DATA_DIR,
            "pytorch_version": installed_version("torch"),
            "serialization_format": fmt,
        },
        pyfunc_conf={"loader_module": LOADER_MODULE, "data": DATA_DIR},
        distributions=["torch", "numpy"] + (["cloudpickle"] if fmt == "pickle" else []),
        signature=signature,
        input_example=input_example,
        predict=(lambda d: backend.predict(d, None)) if backend else None,
        needs_column_names=False,
        code_paths=code_paths,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
    )


@contextlib.contextmanager
def _torchscript_quiet() -> Iterator[None]:
    """NOTE: torch >= 2.13 deprecates torch.jit save/load; TorchScript files are still what many
    users bring, and the user chose the format, so the nag is silenced for these calls only."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"`torch\.jit\.\w+` is deprecated", category=DeprecationWarning)
        yield


def _read(model_dir: Path, model: Model, options: LoadOptions, device: Any) -> Any:
    import torch

    conf = model.flavors.get(FLAVOR_NAME) or {}
    data_dir = model_dir / (conf.get("model_data") or (model.flavors.get(PYFUNC_FLAVOR) or {}).get("data") or DATA_DIR)
    fmt = conf.get("serialization_format")
    if fmt is None:  # MLflow's layout: which file is there says the format
        fmt = next((f for f, name in FILES.items() if (data_dir / name).is_file()), None)
    if fmt not in FILES or not (data_dir / FILES[fmt]).is_file():
        raise ModelLoadError(f"{data_dir}: no model file ({', '.join(FILES.values())}) found")
    path = data_dir / FILES[fmt]
    if fmt == "torchscript":
        with _torchscript_quiet():
            return torch.jit.load(str(path), map_location=device)  # type: ignore[no-untyped-call]  # torch leaves it unannotated
    if fmt == "pt2":
        module = unpickle(path, "torch_export", allow_pickle=options.allow_pickle).module()
        return module
    return unpickle(path, "torch", allow_pickle=options.allow_pickle, map_location=device)


def _device(options: LoadOptions) -> Any:
    import torch

    if options.device:
        return torch.device(options.device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_model(path: str | Path, *, allow_pickle: bool = True, device: str | None = None) -> Any:
    """The `nn.Module` itself, in eval mode on `device`."""
    model_dir = local_model_dir(path)
    model = Model.load(model_dir)
    add_code_paths(model_dir, model.flavors.get(FLAVOR_NAME) or {})
    options = LoadOptions(allow_pickle=allow_pickle, device=device)
    dev = _device(options)
    module = _read(model_dir, model, options, dev)
    return _place(module, dev)


def _place(module: Any, device: Any) -> Any:
    import torch

    # NOTE: a torch.export module refuses eval() and stays on the device it was saved on. (A
    # ScriptModule, scripted or traced from an fx module, is never a GraphModule.)
    if isinstance(module, torch.fx.GraphModule):
        return module
    module.eval()
    return module.to(device)


class TorchBackend:
    """Calls the module under inference_mode; numpy in, numpy out."""

    def __init__(self, module: Any, device: Any) -> None:
        import torch

        self._torch = torch
        self.model = module
        self.device = device
        self.needs_column_names = False
        self.batchable = True
        # NOTE: .to()/.cpu() cost microseconds per call even when they do nothing; skip on CPU.
        self._on_cpu = torch.device(device).type == "cpu"

    def _tensor(self, value: Any) -> Any:
        torch = self._torch
        if isinstance(value, np.ndarray):
            tensor = torch.from_numpy(value if value.flags.c_contiguous else np.ascontiguousarray(value))
        elif isinstance(value, torch.Tensor):
            tensor = value
        elif hasattr(value, "to_numpy"):  # DataFrame: MLflow feeds its values as float32
            tensor = torch.from_numpy(value.to_numpy(dtype=np.float32))
        else:
            tensor = torch.from_numpy(np.ascontiguousarray(value))
        return tensor if self._on_cpu else tensor.to(self.device)

    def predict(self, data: Any, params: dict[str, Any] | None) -> Any:
        with self._torch.inference_mode():
            if isinstance(data, dict):
                tensors = {k: self._tensor(v) for k, v in data.items()}
                out = self.model(*tensors.values()) if len(tensors) == 1 else self.model(**tensors)
            else:
                out = self.model(self._tensor(data))
            return self._numpy(out)

    def _numpy(self, out: Any) -> Any:
        if isinstance(out, self._torch.Tensor):
            return out.numpy() if self._on_cpu else out.cpu().numpy()
        if isinstance(out, dict):
            return {k: self._numpy(v) for k, v in out.items()}
        if isinstance(out, (list, tuple)):
            return [self._numpy(v) for v in out]
        return out


def apply_threads(options: LoadOptions) -> None:
    """Apply `LoadOptions.intra_op_threads` / `inter_op_threads` to torch.

    NOTE: both are process-wide in torch (every model and thread in the process shares them); the
    last model loaded wins. torch's default intra-op pool is one thread per core, which on a small
    machine competes with the HTTP event loop (and OpenMP's spin-waiting burns CPU). torch accepts
    the inter-op count only once and only before its first parallel work, so a refused change is
    left as is rather than failing the load."""
    import torch

    if options.intra_op_threads and torch.get_num_threads() != options.intra_op_threads:
        torch.set_num_threads(options.intra_op_threads)
    if options.inter_op_threads and torch.get_num_interop_threads() != options.inter_op_threads:
        with contextlib.suppress(RuntimeError):  # already set, or parallel work already started
            torch.set_num_interop_threads(options.inter_op_threads)


def load_pyfunc(model_dir: Path, model: Model, options: LoadOptions) -> TorchBackend:
    apply_threads(options)
    device = _device(options)
    return TorchBackend(_place(_read(model_dir, model, options, device), device), device)


def _load_pyfunc(data_path: str, model_config: dict[str, Any] | None = None) -> MlflowPyfunc:
    """MLflow's loader-module contract (see flavors.mlflow_loader)."""
    return load_for_mlflow(data_path, model_config)


__all__ = ["FLAVOR_NAME", "TorchBackend", "apply_threads", "load_model", "load_pyfunc", "save_model"]
