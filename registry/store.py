"""The registry store interface (MLflow's method names) and the table that picks one by URI.

Versions are ints; times are epoch milliseconds. `create_model_version` only reserves a number
(status PENDING_REGISTRATION); the client copies the files and then calls
`finish_model_version`, so the store never touches model files.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Hashable, Sequence
from typing import Any

from shipyard.registry.deployments import Deployment, DeploymentReport
from shipyard.registry.entities import HistoryEntry, ModelVersion, RegisteredModel
from shipyard.tracking.paging import PagedList
from shipyard.tracking.store import store_class

REGISTRY_STORES: dict[str, str] = {
    **{
        scheme: "shipyard.registry.sql_store:SqlRegistryStore"
        for scheme in ("sqlite", "postgresql", "postgres", "mysql", "mssql")
    },
    "http": "shipyard.registry.rest_store:RestRegistryStore",
    "https": "shipyard.registry.rest_store:RestRegistryStore",
}
"""Registry URI scheme -> store class (imported when a URI with that scheme is used); each has
`open(uri, artifact_root: str | None)`, None meaning the store's own default."""

SEARCH_REGISTERED_MODELS_MAX = 100
SEARCH_MODEL_VERSIONS_MAX = 10_000


def get_registry_store(uri: str, artifact_root: str | None = None, http: Hashable = None) -> AbstractRegistryStore:
    """The process-wide registry store for a URI; its database is migrated on first use.

    `http`: as for `get_tracking_store`, only classes with `remote = True` (the REST store) get it."""
    cls = store_class(REGISTRY_STORES, uri, what="registry")
    return _open_registry_store(cls, uri, artifact_root, http if getattr(cls, "remote", False) else None)


@functools.cache
def _open_registry_store(cls: Any, uri: str, artifact_root: str | None, http: Hashable) -> AbstractRegistryStore:
    # NOTE: the store class picks the default artifact root, so this module (imported when serving
    # a local directory) never imports SQLAlchemy.
    store: AbstractRegistryStore = cls.open(uri, artifact_root) if http is None else cls.open(uri, artifact_root, http)
    return store


class AbstractRegistryStore(abc.ABC):
    """Registered models, versions, tags, stages, aliases and their deployment history."""

    @property
    @abc.abstractmethod
    def artifact_root(self) -> str:
        """Root URI under which immutable version storage lives (`<root>/model-versions`)."""

    # --- registered models --------------------------------------------------------------------
    @abc.abstractmethod
    def create_registered_model(
        self, name: str, tags: dict[str, str] | None = None, description: str | None = None
    ) -> RegisteredModel: ...

    @abc.abstractmethod
    def get_registered_model(self, name: str) -> RegisteredModel: ...

    @abc.abstractmethod
    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel: ...

    @abc.abstractmethod
    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel: ...

    @abc.abstractmethod
    def delete_registered_model(self, name: str) -> list[str]:
        """Delete a model and all its versions; returns the digests its versions held."""

    @abc.abstractmethod
    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_REGISTERED_MODELS_MAX,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        """One page; `.token` of the result continues it (`shipyard.tracking.paging`)."""

    @abc.abstractmethod
    def set_registered_model_tag(self, name: str, key: str, value: str) -> None: ...

    @abc.abstractmethod
    def delete_registered_model_tag(self, name: str, key: str) -> None: ...

    @abc.abstractmethod
    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]: ...

    # --- model versions -----------------------------------------------------------------------
    @abc.abstractmethod
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, str] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        *,
        user_id: str | None = None,
        status_message: str | None = None,
    ) -> ModelVersion:
        """Reserve the next version number (atomically) with status PENDING_REGISTRATION."""

    @abc.abstractmethod
    def finish_model_version(self, name: str, version: int, *, digest: str, storage_location: str) -> ModelVersion:
        """Mark a pending version READY once its files are stored and verified."""

    @abc.abstractmethod
    def fail_model_version(self, name: str, version: int, message: str) -> ModelVersion: ...

    @abc.abstractmethod
    def get_model_version(self, name: str, version: int | str) -> ModelVersion: ...

    @abc.abstractmethod
    def update_model_version(self, name: str, version: int | str, description: str | None) -> ModelVersion: ...

    @abc.abstractmethod
    def delete_model_version(self, name: str, version: int | str) -> str | None:
        """Delete one version; returns its digest (the caller may free the stored copy)."""

    @abc.abstractmethod
    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_MODEL_VERSIONS_MAX,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        """One page; `.token` of the result continues it (`shipyard.tracking.paging`)."""

    @abc.abstractmethod
    def digest_in_use(self, digest: str) -> bool: ...

    @abc.abstractmethod
    def set_model_version_tag(self, name: str, version: int | str, key: str, value: str) -> None: ...

    @abc.abstractmethod
    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None: ...

    # --- deployment: stages, aliases, history -------------------------------------------------
    @abc.abstractmethod
    def transition_model_version_stage(
        self,
        name: str,
        version: int | str,
        stage: str,
        archive_existing_versions: bool = False,
        *,
        user_id: str | None = None,
    ) -> ModelVersion: ...

    @abc.abstractmethod
    def set_registered_model_alias(
        self, name: str, alias: str, version: int | str, *, user_id: str | None = None
    ) -> None: ...

    @abc.abstractmethod
    def delete_registered_model_alias(self, name: str, alias: str, *, user_id: str | None = None) -> None: ...

    @abc.abstractmethod
    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion: ...

    @abc.abstractmethod
    def get_history(self, name: str) -> list[HistoryEntry]:
        """Every stage transition and alias move of a model, oldest first."""

    @abc.abstractmethod
    def rollback(self, name: str, stage_or_alias: str, *, user_id: str | None = None) -> ModelVersion:
        """Point a stage or alias back at the version it held before; returns that version."""

    # --- deployment records: who serves what (registry/deployments.py) -----------------------
    @abc.abstractmethod
    def report_deployment(self, report: DeploymentReport) -> None:
        """Replace the reporting server's records; they expire `report.ttl_seconds` from now."""

    @abc.abstractmethod
    def list_deployments(self, name: str) -> list[Deployment]:
        """The unexpired records of a registered model."""

    @abc.abstractmethod
    def remove_deployment(self, server_id: str) -> None:
        """Forget a server's records (its clean shutdown)."""

    def close(self) -> None:  # noqa: B027 - a no-op by default: a store without connections has none to release
        """Release connections (tests and short-lived commands)."""


__all__ = [
    "AbstractRegistryStore",
    "REGISTRY_STORES",
    "SEARCH_MODEL_VERSIONS_MAX",
    "SEARCH_REGISTERED_MODELS_MAX",
    "get_registry_store",
]
