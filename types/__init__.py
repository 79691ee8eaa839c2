"""`shipyard.types`: MLflow's `mlflow.types` import path (`Schema`, `ColSpec`, `TensorSpec`, ...).

NOTE: this folder is named like the standard library's `types`; it is only ever imported as
`shipyard.types` (the root is the `shipyard` package), and the names are lazy (`_LAZY`, see the
root `__init__.py`), so `import shipyard.types` costs nothing until a name is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipyard.lazy import lazy_exports

if TYPE_CHECKING:
    from shipyard.flavors.data_types import DataType
    from shipyard.flavors.signature import ColSpec, ParamSchema, ParamSpec, Schema, TensorSpec
    from shipyard.types import schema

_LAZY: dict[str, str] = {
    "ColSpec": "shipyard.flavors.signature:ColSpec",
    "DataType": "shipyard.flavors.data_types:DataType",
    "ParamSchema": "shipyard.flavors.signature:ParamSchema",
    "ParamSpec": "shipyard.flavors.signature:ParamSpec",
    "Schema": "shipyard.flavors.signature:Schema",
    "TensorSpec": "shipyard.flavors.signature:TensorSpec",
    "schema": "shipyard.types.schema",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

__all__ = ["ColSpec", "DataType", "ParamSchema", "ParamSpec", "Schema", "TensorSpec", "schema"]
