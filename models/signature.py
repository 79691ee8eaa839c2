"""`shipyard.models.signature`: MLflow's `mlflow.models.signature` import path."""

from shipyard.flavors.inference import infer_signature
from shipyard.flavors.signature import ColSpec, ModelSignature, ParamSchema, Schema
from shipyard.model_artifacts import set_signature

__all__ = ["ColSpec", "ModelSignature", "ParamSchema", "Schema", "infer_signature", "set_signature"]
