"""`shipyard.models`: MLflow's `mlflow.models` import path (`Model`, `ModelSignature`,
`infer_signature`, `set_signature`, ...), re-exporting Shipyard's own classes.

NOTE: lazy (`_LAZY`, see the root `__init__.py`): `set_signature` reaches the tracking store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipyard.lazy import lazy_exports

if TYPE_CHECKING:
    from shipyard.flavors.example_type import ModelInputExample
    from shipyard.flavors.inference import infer_signature
    from shipyard.flavors.mlmodel import Model
    from shipyard.flavors.signature import ModelSignature
    from shipyard.model_artifacts import set_signature
    from shipyard.models import signature

_LAZY: dict[str, str] = {
    "Model": "shipyard.flavors.mlmodel:Model",
    "ModelInputExample": "shipyard.flavors.example_type:ModelInputExample",
    "ModelSignature": "shipyard.flavors.signature:ModelSignature",
    "infer_signature": "shipyard.flavors.inference:infer_signature",
    "set_signature": "shipyard.model_artifacts:set_signature",
    "signature": "shipyard.models.signature",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

__all__ = [
    "Model",
    "ModelInputExample",
    "ModelSignature",
    "infer_signature",
    "set_signature",
    "signature",
]
