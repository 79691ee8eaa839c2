"""The fluent registry calls (MLflow's `mlflow.register_model`, `mlflow.search_registered_models`,
`mlflow.search_model_versions`), in the current registry."""

from __future__ import annotations

from typing import Any

from shipyard.mlflow_names import refuses
from shipyard.registry.client import RegistryClient
from shipyard.registry.entities import ModelVersion, RegisteredModel
from shipyard.registry.store import SEARCH_MODEL_VERSIONS_MAX, SEARCH_REGISTERED_MODELS_MAX
from shipyard.tracking.paging import check_max_results, every_page


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


def search_registered_models(
    max_results: int | None = None, filter_string: str | None = None, order_by: list[str] | None = None
) -> list[RegisteredModel]:
    """Registered models matching MLflow's filter; `max_results=None` means all (every page, as MLflow)."""
    if max_results is not None:
        check_max_results(max_results)
    client = RegistryClient()
    return every_page(
        lambda size, token: client.search_registered_models(filter_string, size, order_by, token),
        SEARCH_REGISTERED_MODELS_MAX,
        max_results,
    )


def search_model_versions(
    max_results: int | None = None, filter_string: str | None = None, order_by: list[str] | None = None
) -> list[ModelVersion]:
    """Model versions matching MLflow's filter; `max_results=None` means all (every page, as MLflow)."""
    if max_results is not None:
        check_max_results(max_results)
    client = RegistryClient()
    return every_page(
        lambda size, token: client.search_model_versions(filter_string, size, order_by, token),
        SEARCH_MODEL_VERSIONS_MAX,
        max_results,
    )


__all__ = ["register_model", "search_model_versions", "search_registered_models"]
