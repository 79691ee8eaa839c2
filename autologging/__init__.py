"""Autolog: one line before training records params, metrics and the model (MLflow's
`mlflow.autolog`), for scikit-learn, PyTorch Lightning, XGBoost and LightGBM, behind one reversible patch registry.

NOTE: the folder is `autologging`, not `autolog`: a subpackage `shipyard.autolog` would replace
the function `shipyard.autolog` as soon as it is imported (the import system sets a package's
attribute to each submodule it loads), and MLflow code calls `mlflow.autolog()`.
"""

from __future__ import annotations

from shipyard.autologging.lightgbm import autolog as lightgbm_autolog
from shipyard.autologging.lightning import autolog as pytorch_autolog
from shipyard.autologging.patches import REGISTRY, Patch, PatchRegistry
from shipyard.autologging.safety import AutologWarning
from shipyard.autologging.sklearn import autolog as sklearn_autolog
from shipyard.autologging.universal import INTEGRATIONS, autolog
from shipyard.autologging.xgboost import autolog as xgboost_autolog

__all__ = [
    "AutologWarning",
    "INTEGRATIONS",
    "Patch",
    "PatchRegistry",
    "REGISTRY",
    "autolog",
    "lightgbm_autolog",
    "pytorch_autolog",
    "sklearn_autolog",
    "xgboost_autolog",
]
