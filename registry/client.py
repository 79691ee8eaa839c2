"""The registry half of `shipyard.Client` (MLflow's `MlflowClient` names and semantics).

`RegistryClient` works alone or mixed into the root `Client` next to the tracking client: it
only needs `tracking_uri`, `registry_uri`, `_settings` and `_http` attributes, which both
constructors set.
Deployment actions (stage transitions, alias moves, rollbacks) are recorded with `user`, or the
OS user when no user was given.
"""

from __future__ import annotations

import contextlib
import getpass
from collections.abc import Sequence
from typing import Any

from shipyard.exceptions import AlreadyExists, InvalidInput
from shipyard.mlflow_names import refuses
from shipyard.registry.entities import HistoryEntry, ModelVersion, RegisteredModel
from shipyard.registry.registration import register_version, release_storage
from shipyard.registry.storage import ProgressCallback
from shipyard.registry.store import (
    SEARCH_MODEL_VERSIONS_MAX,
    SEARCH_REGISTERED_MODELS_MAX,
    AbstractRegistryStore,
    get_registry_store,
)
from shipyard.registry.uris import ResolvedModel, resolve_model_uri
from shipyard.settings import Settings
from shipyard.tracking.fluent_state import http_for, process_settings, resolve_registry_uri, resolve_tracking_uri
from shipyard.tracking.http_settings import RestClientSettings
from shipyard.tracking.paging import PagedList


class RegistryClient:
    """Registered models, versions, stages, aliases and deployment history."""

    tracking_uri: str
    registry_uri: str
    _settings: Settings
    _http: RestClientSettings

    def __init__(
        self,
        tracking_uri: str | None = None,
        registry_uri: str | None = None,
        *,
        settings: Settings | None = None,
        user: str | None = None,
    ) -> None:
        # NOTE: a public constructor is an edge: no `settings` means the process's, never a new one.
        # No URI means the current one: the same answer the fluent API gets.
        self._settings = settings if settings is not None else process_settings()
        self.tracking_uri = resolve_tracking_uri(tracking_uri, self._settings)
        self.registry_uri = resolve_registry_uri(registry_uri, self._settings, self.tracking_uri)
        self._http = http_for(self._settings)
        self.user = user

    @property
    def registry_store(self) -> AbstractRegistryStore:
        return get_registry_store(self.registry_uri, None, self._http)

    def _user(self) -> str:
        return getattr(self, "user", None) or getpass.getuser()

    # --- registered models --------------------------------------------------------------------
    @refuses("deployment_job_id")
    def create_registered_model(
        self,
        name: str,
        tags: dict[str, Any] | None = None,
        description: str | None = None,
        deployment_job_id: str | None = None,
    ) -> RegisteredModel:
        return self.registry_store.create_registered_model(name, _str_tags(tags), description)

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self.registry_store.get_registered_model(name)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        return self.registry_store.rename_registered_model(name, new_name)

    @refuses("deployment_job_id")
    def update_registered_model(
        self, name: str, description: str | None = None, deployment_job_id: str | None = None
    ) -> RegisteredModel:
        return self.registry_store.update_registered_model(name, description)

    def delete_registered_model(self, name: str) -> None:
        store = self.registry_store
        release_storage(store, list(store.delete_registered_model(name)))

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_REGISTERED_MODELS_MAX,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        return self.registry_store.search_registered_models(filter_string, max_results, order_by, page_token)

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        self.registry_store.set_registered_model_tag(name, key, str(value))

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self.registry_store.delete_registered_model_tag(name, key)

    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        return self.registry_store.get_latest_versions(name, stages)

    # --- model versions -----------------------------------------------------------------------
    @refuses("model_id")
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        await_creation_for: int = 300,
        model_id: str | None = None,
        *,
        progress: ProgressCallback | None = None,
    ) -> ModelVersion:
        """Register the model directory `source` (any model URI) as the next version of `name`.

        Returns once the version is READY (Shipyard copies synchronously, so MLflow's
        `await_creation_for` has nothing to wait for).
        """
        store = self.registry_store
        if getattr(store, "registers_on_server", False):
            # NOTE: a remote registry copies and verifies the files itself, from a source it can read.
            return store.create_model_version(
                name, str(source), run_id, _str_tags(tags), run_link, description, user_id=self._user()
            )
        resolved = self.resolve(source)
        return register_version(
            self.registry_store,
            name,
            resolved.local_path,
            source=str(source),
            run_id=run_id or resolved.run_id,
            tags=_str_tags(tags),
            description=description,
            user_id=self._user(),
            progress=progress,
        )

    def register_model(
        self,
        model_uri: str,
        name: str,
        tags: dict[str, Any] | None = None,
        *,
        progress: ProgressCallback | None = None,
    ) -> ModelVersion:
        """Create the registered model if needed, then register `model_uri` as a new version."""
        with contextlib.suppress(AlreadyExists):
            self.create_registered_model(name)
        return self.create_model_version(name, model_uri, tags=tags, progress=progress)

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        return self.registry_store.get_model_version(name, version)

    def update_model_version(self, name: str, version: int | str, description: str | None = None) -> ModelVersion:
        return self.registry_store.update_model_version(name, version, description)

    def delete_model_version(self, name: str, version: int | str) -> None:
        store = self.registry_store
        release_storage(store, [store.delete_model_version(name, version)])

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_MODEL_VERSIONS_MAX,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        return self.registry_store.search_model_versions(filter_string, max_results, order_by, page_token)

    @refuses("stage")
    def set_model_version_tag(
        self,
        name: str,
        version: int | str | None = None,
        key: str | None = None,
        value: Any = None,
        stage: str | None = None,
    ) -> None:
        version, key = _version_and_key(version, key)
        self.registry_store.set_model_version_tag(name, version, key, str(value))

    @refuses("stage")
    def delete_model_version_tag(
        self, name: str, version: int | str | None = None, key: str | None = None, stage: str | None = None
    ) -> None:
        version, key = _version_and_key(version, key)
        self.registry_store.delete_model_version_tag(name, version, key)

    # --- deployment -----------------------------------------------------------------------------
    def transition_model_version_stage(
        self, name: str, version: int | str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        return self.registry_store.transition_model_version_stage(
            name, version, stage, archive_existing_versions, user_id=self._user()
        )

    def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None:
        self.registry_store.set_registered_model_alias(name, alias, version, user_id=self._user())

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self.registry_store.delete_registered_model_alias(name, alias, user_id=self._user())

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return self.registry_store.get_model_version_by_alias(name, alias)

    def get_model_history(self, name: str) -> list[HistoryEntry]:
        """Every stage transition and alias move of `name`, oldest first (append-only)."""
        return self.registry_store.get_history(name)

    def rollback_model(self, name: str, stage_or_alias: str) -> ModelVersion:
        """Point a stage (`Production`) or alias (`champion` / `@champion`) back at its previous version."""
        return self.registry_store.rollback(name, stage_or_alias, user_id=self._user())

    # --- URIs ---------------------------------------------------------------------------------
    def resolve(self, model_uri: str) -> ResolvedModel:
        """Any model URI -> a verified local model directory, using this client's stores."""
        return resolve_model_uri(
            model_uri, settings=self._settings, tracking_uri=self.tracking_uri, registry_uri=self.registry_uri
        )


def _version_and_key(version: int | str | None, key: str | None) -> tuple[int | str, str]:
    """MLflow's tag calls default version and key to None (stage may stand in for the version,
    which Shipyard refuses): both are required here."""
    if version is None or key is None:
        raise InvalidInput(f"a model version tag needs version and key (got version={version!r}, key={key!r})")
    return version, key


def _str_tags(tags: dict[str, Any] | None) -> dict[str, str] | None:
    return None if tags is None else {str(k): str(v) for k, v in tags.items()}


__all__ = ["RegistryClient"]
