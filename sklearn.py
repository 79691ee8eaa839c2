"""`shipyard.sklearn`: save and load scikit-learn estimators (mirrors `mlflow.sklearn`)."""

from shipyard.flavors.sklearn import load_model, save_model
from shipyard.model_logging import flavor_log_model

log_model = flavor_log_model("shipyard.flavors.sklearn")

__all__ = ["load_model", "log_model", "save_model"]
