"""`shipyard.types.schema`: MLflow's `mlflow.types.schema` import path."""

from shipyard.flavors.data_types import DataType
from shipyard.flavors.schema_types import AnyType, Array, Map, Object, Property
from shipyard.flavors.signature import ColSpec, ParamSchema, ParamSpec, Schema, TensorSpec

__all__ = [
    "AnyType",
    "Array",
    "ColSpec",
    "DataType",
    "Map",
    "Object",
    "ParamSchema",
    "ParamSpec",
    "Property",
    "Schema",
    "TensorSpec",
]
