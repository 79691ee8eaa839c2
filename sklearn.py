"""`shipyard.sklearn`: save and load scikit-learn estimators (mirrors `mlflow.sklearn`)."""
from shipyard.flavors.sklearn import load_model, save_model

__all__ = ["load_model", "save_model"]
