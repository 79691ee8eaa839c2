"""`shipyard.pytorch`: save and load PyTorch modules, whole or TorchScript (mirrors `mlflow.pytorch`)."""
from shipyard.flavors.torch import load_model, save_model

__all__ = ["load_model", "save_model"]
