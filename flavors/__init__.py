"""The model directory format, signatures and schema enforcement, one module per framework.

Framework modules (sklearn, onnx, torch, paddle, keras, tensorflow, python_model, ...) are not
imported here: `FLAVORS` names them as import strings, loaded only when a model of that flavor is
saved or loaded.
"""

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
