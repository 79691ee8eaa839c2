"""PaddlePaddle flavor (MLmodel name `paddle`, as MLflow's): inference programs and state dicts.

Two forms, in MLflow's layout (files named by the prefix `model` at the directory's root, the
flavor's `pickled_model` entry): an inference program written by `paddle.jit.save` (PIR
`model.json` or legacy `model.pdmodel`, plus `model.pdiparams`), which loads and serves on its
own; and a state dict (`model.pdparams`, `training=True`), which needs the Layer or `paddle.Model`
to load into, so it loads with `load_model(path, model=...)` and is not served.
"""

from __future__ import annotations

import importlib
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from shipyard.exceptions import InvalidInput, ModelLoadError
from shipyard.flavors.environment import installed_version
from shipyard.flavors.input_example import normalize_example, split_example
from shipyard.flavors.mlflow_loader import MlflowPyfunc, load_for_mlflow
from shipyard.flavors.mlmodel import Model
from shipyard.flavors.model_dir import create_model_dir, finish_model_dir
from shipyard.flavors.pyfunc import LoadOptions, add_code_paths, local_model_dir, unpickle
from shipyard.flavors.signature import ModelSignature
from shipyard.mlflow_names import refuses

FLAVOR_NAME = "paddle"
LOADER_MODULE = "shipyard.flavors.paddle"
PREFIX = "model"
PROGRAM_SUFFIXES = (".json", ".pdmodel")  # PIR (paddle >= 3), then the legacy program format
PARAMS_SUFFIX = ".pdiparams"
STATE_DICT_SUFFIX = ".pdparams"
LEGACY_INFO_SUFFIX = ".pdiparams.info"  # pickled by paddle.jit.save's legacy format


def import_paddle() -> Any:
    """`paddle`, imported on first use.

    NOTE: paddle warns at import that ccache (a compiler cache for building C++ extensions) is
    missing; loading and serving build none, and tests run with warnings as errors."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No ccache found", category=UserWarning)
        return importlib.import_module("paddle")


@refuses("conda_env", "mlflow_model", "extra_files")
def save_model(
    pd_model: Any,
    path: str | Path,
    training: bool = False,
    conda_env: Any = None,
    code_paths: list[str | Path] | None = None,
    mlflow_model: Any = None,
    signature: ModelSignature | None | bool = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    extra_files: Any = None,
    **kwargs: Any,
) -> Model:
    """Save a `paddle.nn.Layer` or `paddle.Model`: an inference program (`paddle.jit.save`, or
    `paddle.Model.save(training=False)`), or with `training=True` its state dict (`paddle.save`).

    `kwargs` go to `paddle.jit.save` / `paddle.Model.save` as in MLflow; without `input_spec`, a
    Layer's is taken from `input_example` (batch dimension left free)."""
    paddle = import_paddle()
    if not isinstance(pd_model, (paddle.nn.Layer, paddle.Model)):
        raise InvalidInput(f"pd_model must be a paddle.nn.Layer or paddle.Model, got {type(pd_model).__name__}")
    model_dir = create_model_dir(path)
    prefix = str(model_dir / PREFIX)
    fmt = "state_dict" if training else "inference_program"
    if isinstance(pd_model, paddle.Model):
        pd_model.save(prefix, training=training, **kwargs)
    elif training:
        paddle.save(pd_model.state_dict(), prefix + STATE_DICT_SUFFIX, **kwargs)
    else:
        try:
            _jit_save(paddle, pd_model, prefix, input_example, kwargs)
        except InvalidInput:
            shutil.rmtree(model_dir)  # nothing was saved: leave no half-written directory
            raise
    layer = pd_model.network if isinstance(pd_model, paddle.Model) else pd_model
    backend = PaddleBackend(layer) if input_example is not None else None
    return finish_model_dir(
        model_dir,
        flavor_name=FLAVOR_NAME,
        flavor_conf={
            "pickled_model": PREFIX,
            "paddle_version": installed_version("paddlepaddle"),
            "serialization_format": fmt,
        },
        pyfunc_conf={"loader_module": LOADER_MODULE, "data": PREFIX},
        distributions=["paddlepaddle", "numpy"],
        signature=signature,
        input_example=input_example,
        predict=(lambda d: backend.predict(d, None)) if backend else None,
        needs_column_names=False,
        code_paths=code_paths,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
    )


def _jit_save(paddle: Any, layer: Any, prefix: str, input_example: Any, kwargs: dict[str, Any]) -> None:
    if "input_spec" not in kwargs and input_example is not None:
        kwargs = {**kwargs, "input_spec": input_spec(paddle, input_example)}
    try:
        paddle.jit.save(layer, prefix, **kwargs)
    except ValueError as exc:  # paddle: no program to save (no input_spec, never called statically)
        raise InvalidInput(
            f"paddle.jit.save could not trace the layer ({exc}); pass input_spec=[paddle.static.InputSpec(...)] "
            "or an input_example, or save the state dict with training=True"
        ) from exc


def input_spec(paddle: Any, example: Any) -> list[Any]:
    """`InputSpec`s for the example's arrays, in order, with a free batch dimension."""
    data, _ = split_example(example)
    data = normalize_example(data)
    arrays = data if isinstance(data, dict) else {"x": data}
    specs = []
    for name, value in arrays.items():
        array = value.to_numpy(dtype=np.float32) if hasattr(value, "to_numpy") else np.asarray(value)
        if array.ndim == 0:
            raise InvalidInput(f"input_example {name!r}: a scalar has no batch dimension; give an array of rows")
        specs.append(paddle.static.InputSpec([None, *array.shape[1:]], str(array.dtype), name))
    return specs


def _files(model_dir: Path, model: Model) -> tuple[str, str | None]:
    """(the files' path prefix, the format found: "inference_program", "legacy_program",
    "state_dict" or None)."""
    conf = model.flavors.get(FLAVOR_NAME) or {}
    prefix = str(model_dir / str(conf.get("pickled_model") or PREFIX))
    if Path(prefix + PROGRAM_SUFFIXES[0]).is_file():
        return prefix, "inference_program"
    if Path(prefix + PROGRAM_SUFFIXES[1]).is_file():
        legacy_pickle = Path(prefix + LEGACY_INFO_SUFFIX).is_file()
        return prefix, "legacy_program" if legacy_pickle else "inference_program"
    if Path(prefix + STATE_DICT_SUFFIX).is_file():
        return prefix, "state_dict"
    return prefix, None


def _load_program(prefix: str, fmt: str | None, allow_pickle: bool) -> Any:
    paddle = import_paddle()
    if fmt == "legacy_program":
        layer = unpickle(Path(prefix), "paddle_jit", allow_pickle=allow_pickle)
    elif fmt == "inference_program":
        layer = paddle.jit.load(prefix)
    elif fmt == "state_dict":
        raise ModelLoadError(
            f"{prefix}{STATE_DICT_SUFFIX} is a state dict (saved with training=True): it needs the layer to load "
            "into; call load_model(uri, model=YourLayer()) — serving needs an inference program "
            "(save with training=False)"
        )
    else:
        raise ModelLoadError(
            f"{prefix}: no paddle model files found (expected {PREFIX}{PROGRAM_SUFFIXES[0]} or "
            f"{PREFIX}{PROGRAM_SUFFIXES[1]} with {PREFIX}{PARAMS_SUFFIX}, or {PREFIX}{STATE_DICT_SUFFIX})"
        )
    layer.eval()
    return layer


def _load_into(prefix: str, fmt: str | None, model: Any, allow_pickle: bool) -> Any:
    """Load the saved state dict into `model` (an instance, or a class built with no arguments)."""
    paddle = import_paddle()
    target = model() if isinstance(model, type) else model
    if not isinstance(target, (paddle.nn.Layer, paddle.Model)):
        raise InvalidInput(
            f"model must be a paddle.nn.Layer or paddle.Model (or its class), got {type(model).__name__}"
        )
    if fmt != "state_dict" and not Path(prefix + STATE_DICT_SUFFIX).is_file():
        raise ModelLoadError(
            f"{prefix}: no {STATE_DICT_SUFFIX} state dict to load into model= (this model was saved as an "
            "inference program; leave model unset to load it)"
        )
    state = unpickle(Path(prefix + STATE_DICT_SUFFIX), "paddle", allow_pickle=allow_pickle)
    layer = target.network if isinstance(target, paddle.Model) else target
    layer.set_state_dict(state)
    layer.eval()
    return target


def load_model(path: str | Path, model: Any = None, *, allow_pickle: bool = True) -> Any:
    """The saved program as a paddle Layer (`paddle.jit.load`); with `model`, the state dict
    loaded into it (and `model` returned)."""
    model_dir = local_model_dir(path)
    meta = Model.load(model_dir)
    add_code_paths(model_dir, meta.flavors.get(FLAVOR_NAME) or {})
    prefix, fmt = _files(model_dir, meta)
    if model is not None:
        return _load_into(prefix, fmt, model, allow_pickle)
    return _load_program(prefix, fmt, allow_pickle)


class PaddleBackend:
    """Calls the layer under `paddle.no_grad()`; numpy in, numpy out."""

    def __init__(self, layer: Any) -> None:
        self._paddle = import_paddle()
        self.model = layer
        self.needs_column_names = False
        self.batchable = True

    def _tensor(self, value: Any) -> Any:
        if hasattr(value, "to_numpy"):  # a DataFrame: its values as float32, as MLflow feeds them
            value = value.to_numpy(dtype=np.float32)
        return self._paddle.to_tensor(np.ascontiguousarray(value))

    def predict(self, data: Any, params: dict[str, Any] | None) -> Any:
        with self._paddle.no_grad():
            if isinstance(data, dict):
                out = self.model(*(self._tensor(v) for v in data.values()))
            else:
                out = self.model(self._tensor(data))
        return self._numpy(out)

    def _numpy(self, out: Any) -> Any:
        if isinstance(out, self._paddle.Tensor):
            return out.numpy()
        if isinstance(out, dict):
            return {k: self._numpy(v) for k, v in out.items()}
        if isinstance(out, (list, tuple)):
            return out[0].numpy() if len(out) == 1 else [self._numpy(v) for v in out]
        return out


def load_pyfunc(model_dir: Path, model: Model, options: LoadOptions) -> PaddleBackend:
    prefix, fmt = _files(model_dir, model)
    return PaddleBackend(_load_program(prefix, fmt, options.allow_pickle))


def _load_pyfunc(data_path: str, model_config: dict[str, Any] | None = None) -> MlflowPyfunc:
    """MLflow's loader-module contract (see flavors.mlflow_loader)."""
    return load_for_mlflow(data_path, model_config)


__all__ = ["FLAVOR_NAME", "PaddleBackend", "import_paddle", "input_spec", "load_model", "load_pyfunc", "save_model"]
