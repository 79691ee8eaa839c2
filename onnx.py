"""`shipyard.onnx`: save and load ONNX models (mirrors `mlflow.onnx`)."""
from shipyard.flavors.onnx import load_model, save_model

__all__ = ["load_model", "save_model"]
