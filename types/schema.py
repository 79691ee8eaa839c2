"""`shipyard.types.schema`: MLflow's `mlflow.types.schema` import path."""

from shipyard.flavors.data_types import DataType
from shipyard.flavors.signature import ColSpec, ParamSchema, ParamSpec, Schema, TensorSpec

__all__ = ["ColSpec", "DataType", "ParamSchema", "ParamSpec", "Schema", "TensorSpec"]
