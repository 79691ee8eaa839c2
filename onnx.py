"""`shipyard.onnx`: save and load ONNX models (mirrors `mlflow.onnx`)."""

from shipyard.flavors.onnx import load_model, save_model
from shipyard.model_logging import flavor_log_model

log_model = flavor_log_model("shipyard.flavors.onnx")

__all__ = ["load_model", "log_model", "save_model"]
