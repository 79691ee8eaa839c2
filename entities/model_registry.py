"""`shipyard.entities.model_registry`: MLflow's `mlflow.entities.model_registry` import path."""

from shipyard.registry.entities import ModelVersion, RegisteredModel

__all__ = ["ModelVersion", "RegisteredModel"]
