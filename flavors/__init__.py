"""The model directory format, signatures and schema enforcement, one module per framework.

Framework modules (sklearn, onnx, torch, paddle, keras, tensorflow, python_model, ...) are not
imported here: `FLAVORS` names them as import strings, loaded only when a model of that flavor is
saved or loaded.

NOTE: the public names resolve lazily through `_LAZY` (import strings, PEP 562 `__getattr__`):
the tracking server reads `MLMODEL_FILE_NAME` and `Model` from here and must not pull in pandas
and pyarrow (`inference`, `pyfunc`) to do so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipyard.lazy import lazy_exports

if TYPE_CHECKING:
    from shipyard.flavors.inference import infer_signature
    from shipyard.flavors.mlmodel import MLMODEL_FILE_NAME, Model
    from shipyard.flavors.pyfunc import LoadOptions, PyFuncModel, load_model
    from shipyard.flavors.signature import (
        ColSpec,
        ModelSignature,
        ParamSchema,
        ParamSpec,
        Schema,
        SignatureWarning,
        TensorSpec,
    )
    from shipyard.flavors.table import FLAVORS, LOADER_MODULES

_LAZY: dict[str, str] = {
    "ColSpec": "shipyard.flavors.signature:ColSpec",
    "FLAVORS": "shipyard.flavors.table:FLAVORS",
    "LOADER_MODULES": "shipyard.flavors.table:LOADER_MODULES",
    "LoadOptions": "shipyard.flavors.pyfunc:LoadOptions",
    "MLMODEL_FILE_NAME": "shipyard.flavors.mlmodel:MLMODEL_FILE_NAME",
    "Model": "shipyard.flavors.mlmodel:Model",
    "ModelSignature": "shipyard.flavors.signature:ModelSignature",
    "ParamSchema": "shipyard.flavors.signature:ParamSchema",
    "ParamSpec": "shipyard.flavors.signature:ParamSpec",
    "PyFuncModel": "shipyard.flavors.pyfunc:PyFuncModel",
    "Schema": "shipyard.flavors.signature:Schema",
    "SignatureWarning": "shipyard.flavors.signature:SignatureWarning",
    "TensorSpec": "shipyard.flavors.signature:TensorSpec",
    "infer_signature": "shipyard.flavors.inference:infer_signature",
    "load_model": "shipyard.flavors.pyfunc:load_model",
}
"""Public name -> import string, imported on first access (see the NOTE above)."""

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

__all__ = [
    "ColSpec",
    "FLAVORS",
    "LOADER_MODULES",
    "LoadOptions",
    "MLMODEL_FILE_NAME",
    "Model",
    "ModelSignature",
    "ParamSchema",
    "ParamSpec",
    "PyFuncModel",
    "Schema",
    "SignatureWarning",
    "TensorSpec",
    "infer_signature",
    "load_model",
]
