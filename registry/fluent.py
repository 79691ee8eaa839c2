"""`shipyard.register_model`: the fluent entry point (MLflow's `mlflow.register_model`)."""

from __future__ import annotations

from typing import Any

from shipyard.registry.client import RegistryClient
from shipyard.registry.entities import ModelVersion
from shipyard.tracking.fluent import get_tracking_uri


def register_model(
    model_uri: str,
    name: str,
    await_registration_for: int | None = None,
    *,
    tags: dict[str, Any] | None = None,
) -> ModelVersion:
    """Register the model at `model_uri` (runs:/, models:/, file:// or a path) as a new version
    of `name`, creating the registered model if needed; uses the fluent tracking URI.

    `await_registration_for` is accepted for MLflow compatibility: registration is synchronous.
    """
    del await_registration_for
    return RegistryClient(tracking_uri=get_tracking_uri()).register_model(model_uri, name, tags)


__all__ = ["register_model"]
