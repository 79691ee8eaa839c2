"""`shipyard.pytorch`: save and load PyTorch modules, whole or TorchScript (mirrors `mlflow.pytorch`)."""

from shipyard.flavors.torch import load_model, save_model
from shipyard.model_logging import flavor_log_model

log_model = flavor_log_model("shipyard.flavors.torch")

__all__ = ["load_model", "log_model", "save_model"]
