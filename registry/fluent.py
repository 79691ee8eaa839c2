"""`shipyard.register_model`: the fluent entry point (MLflow's `mlflow.register_model`)."""

from __future__ import annotations

from typing import Any

from shipyard.mlflow_names import refuses
from shipyard.registry.client import RegistryClient
from shipyard.registry.entities import ModelVersion


@refuses("env_pack")
def register_model(
    model_uri: str,
    name: str,
    await_registration_for: int | None = None,
    *,
    tags: dict[str, Any] | None = None,
    env_pack: Any = None,
) -> ModelVersion:
    """Register the model at `model_uri` (runs:/, models:/, file:// or a path) as a new version
    of `name`, creating the registered model if needed, in the current registry
    (`get_registry_uri`: `set_registry_uri`, the variables, else the tracking URI).

    `await_registration_for` is accepted for MLflow compatibility: registration is synchronous.
    """
    del await_registration_for
    return RegistryClient().register_model(model_uri, name, tags)


__all__ = ["register_model"]
