"""The registry store behind `http://` and `https://` registry URIs: `shipyard server`.

Registration is server-side: `create_model_version` sends the source URI (`runs:/...`,
`models:/m-...`, `mlflow-artifacts:/...`) and the server copies it into its immutable,
digest-verified storage, answering with a READY version. `storage_location` comes back as a proxy
URL, so `models:/` resolution fetches the files through the server into the digest-keyed cache
and verifies them there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shipyard.exceptions import InvalidState
from shipyard.redact import mask_url
from shipyard.registry.deployments import Deployment, DeploymentReport
from shipyard.registry.entities import HistoryEntry, ModelVersion, RegisteredModel
from shipyard.registry.store import SEARCH_MODEL_VERSIONS_MAX, SEARCH_REGISTERED_MODELS_MAX, AbstractRegistryStore
from shipyard.tracking.http_settings import RestClientSettings
from shipyard.tracking.paging import PagedList
from shipyard.tracking.rest_client import SHIPYARD_API, RestClient
from shipyard.tracking.rest_store import RestTrackingStore


def _kv(items: Any) -> dict[str, str]:
    return {item["key"]: item.get("value", "") for item in items or []}


class RestRegistryStore(AbstractRegistryStore):
    """Registered models and versions on a tracking server."""

    registers_on_server = True
    """`RegistryClient` hands sources to `create_model_version` instead of copying files itself."""

    remote = True
    """`get_registry_store` hands `open` the caller's `RestClientSettings`."""

    def __init__(self, uri: str, client: RestClient) -> None:
        self.uri = uri
        self.client = client
        self._uris = RestTrackingStore(uri, client)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({mask_url(self.uri)!r})"

    @classmethod
    def open(
        cls, uri: str, artifact_root: str | None = None, http: RestClientSettings | None = None
    ) -> RestRegistryStore:
        """No `http` means no credentials and the default retries."""
        return cls(uri, RestClient(uri, http or RestClientSettings()))

    @property
    def artifact_root(self) -> str:
        return self._uris.artifact_root

    # --- entities -----------------------------------------------------------------------------
    def _mv(self, data: dict[str, Any]) -> ModelVersion:
        return ModelVersion(
            name=data["name"],
            version=int(data["version"]),
            creation_timestamp=int(data.get("creation_timestamp", 0)),
            last_updated_timestamp=int(data.get("last_updated_timestamp", 0)),
            current_stage=data.get("current_stage", "None"),
            description=data.get("description"),
            user_id=data.get("user_id"),
            source=data.get("source"),
            run_id=data.get("run_id"),
            run_link=data.get("run_link"),
            status=data.get("status", "READY"),
            status_message=data.get("status_message"),
            tags=_kv(data.get("tags")),
            aliases=list(data.get("aliases", [])),
            digest=data.get("digest"),
            storage_location=self._uris.local_artifact_uri(data.get("storage_location")) or None,
        )

    def _model(self, data: dict[str, Any]) -> RegisteredModel:
        return RegisteredModel(
            name=data["name"],
            creation_timestamp=int(data.get("creation_timestamp", 0)),
            last_updated_timestamp=int(data.get("last_updated_timestamp", 0)),
            description=data.get("description"),
            tags=_kv(data.get("tags")),
            aliases={a["alias"]: int(a["version"]) for a in data.get("aliases", [])},
            latest_versions=[self._mv(mv) for mv in data.get("latest_versions", [])],
        )

    def _call(self, method: str, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.client.call(method, endpoint, {k: v for k, v in body.items() if v is not None})

    # --- registered models --------------------------------------------------------------------
    def create_registered_model(
        self, name: str, tags: dict[str, str] | None = None, description: str | None = None
    ) -> RegisteredModel:
        body = {
            "name": name,
            "description": description,
            "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()],
        }
        return self._model(self._call("POST", "/registered-models/create", body)["registered_model"])

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self._model(self._call("GET", "/registered-models/get", {"name": name})["registered_model"])

    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        return self._model(
            self._call("PATCH", "/registered-models/update", {"name": name, "description": description})[
                "registered_model"
            ]
        )

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        return self._model(
            self._call("POST", "/registered-models/rename", {"name": name, "new_name": new_name})["registered_model"]
        )

    def delete_registered_model(self, name: str) -> list[str]:
        """The server frees the stored copies itself, so there is nothing left to release here."""
        self._call("DELETE", "/registered-models/delete", {"name": name})
        return []

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_REGISTERED_MODELS_MAX,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        body = {"filter": filter_string, "order_by": list(order_by or []) or None}
        found = self.client.pages(
            "GET", "/registered-models/search", body, "registered_models", max_results, page_token=page_token
        )
        return PagedList([self._model(m) for m in found], found.token)

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        self._call("POST", "/registered-models/set-tag", {"name": name, "key": key, "value": value})

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self._call("DELETE", "/registered-models/delete-tag", {"name": name, "key": key})

    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        answer = self._call(
            "POST", "/registered-models/get-latest-versions", {"name": name, "stages": list(stages or [])}
        )
        return [self._mv(mv) for mv in answer.get("model_versions", [])]

    # --- model versions -----------------------------------------------------------------------
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
        """Register `source` on the server (copied and verified there); returns the READY version.

        The server keeps the version's status itself, so a `status_message` is not sent."""
        body = {
            "name": name,
            "source": self._uris.server_artifact_uri(source),
            "run_id": run_id,
            "run_link": run_link,
            "description": description,
            "user_id": user_id,
            "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()],
        }
        return self._mv(self._call("POST", "/model-versions/create", body)["model_version"])

    def finish_model_version(self, name: str, version: int, *, digest: str, storage_location: str) -> ModelVersion:
        raise InvalidState("a remote registry finishes registrations itself; use create_model_version")

    def fail_model_version(self, name: str, version: int, message: str) -> ModelVersion:
        raise InvalidState("a remote registry finishes registrations itself; use create_model_version")

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        return self._mv(
            self._call("GET", "/model-versions/get", {"name": name, "version": str(version)})["model_version"]
        )

    def update_model_version(self, name: str, version: int | str, description: str | None) -> ModelVersion:
        body = {"name": name, "version": str(version), "description": description}
        return self._mv(self._call("PATCH", "/model-versions/update", body)["model_version"])

    def delete_model_version(self, name: str, version: int | str) -> str | None:
        self._call("DELETE", "/model-versions/delete", {"name": name, "version": str(version)})
        return None

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_MODEL_VERSIONS_MAX,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        body = {"filter": filter_string, "order_by": list(order_by or []) or None}
        found = self.client.pages(
            "GET", "/model-versions/search", body, "model_versions", max_results, page_token=page_token
        )
        return PagedList([self._mv(mv) for mv in found], found.token)

    def digest_in_use(self, digest: str) -> bool:
        return bool(
            self.client.call("GET", "/model-versions/digest-in-use", {"digest": digest}, prefix=SHIPYARD_API)["in_use"]
        )

    def set_model_version_tag(self, name: str, version: int | str, key: str, value: str) -> None:
        self._call(
            "POST", "/model-versions/set-tag", {"name": name, "version": str(version), "key": key, "value": value}
        )

    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        self._call("DELETE", "/model-versions/delete-tag", {"name": name, "version": str(version), "key": key})

    # --- deployment ---------------------------------------------------------------------------
    def transition_model_version_stage(
        self,
        name: str,
        version: int | str,
        stage: str,
        archive_existing_versions: bool = False,
        *,
        user_id: str | None = None,
    ) -> ModelVersion:
        body = {
            "name": name,
            "version": str(version),
            "stage": stage,
            "archive_existing_versions": archive_existing_versions,
            "user_id": user_id,
        }
        return self._mv(self._call("POST", "/model-versions/transition-stage", body)["model_version"])

    def set_registered_model_alias(
        self, name: str, alias: str, version: int | str, *, user_id: str | None = None
    ) -> None:
        self._call(
            "POST",
            "/registered-models/alias",
            {"name": name, "alias": alias, "version": str(version), "user_id": user_id},
        )

    def delete_registered_model_alias(self, name: str, alias: str, *, user_id: str | None = None) -> None:
        self._call("DELETE", "/registered-models/alias", {"name": name, "alias": alias, "user_id": user_id})

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return self._mv(self._call("GET", "/registered-models/alias", {"name": name, "alias": alias})["model_version"])

    def get_history(self, name: str) -> list[HistoryEntry]:
        answer = self.client.call("GET", "/registered-models/history", {"name": name}, prefix=SHIPYARD_API)
        return [
            HistoryEntry(
                id=e["id"],
                name=e["name"],
                action=e["action"],
                version=e.get("version"),
                alias=e.get("alias"),
                from_value=e.get("from"),
                to_value=e.get("to"),
                user_id=e.get("user_id"),
                timestamp=e["timestamp"],
            )
            for e in answer.get("history", [])
        ]

    def rollback(self, name: str, stage_or_alias: str, *, user_id: str | None = None) -> ModelVersion:
        body = {"name": name, "stage_or_alias": stage_or_alias, "user_id": user_id}
        answer = self.client.call(
            "POST", "/registered-models/rollback", {k: v for k, v in body.items() if v is not None}, prefix=SHIPYARD_API
        )
        return self._mv(answer["model_version"])

    # --- deployment records (Shipyard's extension paths) -------------------------------------
    def report_deployment(self, report: DeploymentReport) -> None:
        self.client.call("POST", "/registered-models/deployments/report", report.to_dict(), prefix=SHIPYARD_API)

    def list_deployments(self, name: str) -> list[Deployment]:
        answer = self.client.call("GET", "/registered-models/deployments/list", {"name": name}, prefix=SHIPYARD_API)
        return [Deployment.from_dict(d) for d in answer.get("deployments", [])]

    def remove_deployment(self, server_id: str) -> None:
        body = {"server_id": server_id}
        self.client.call("POST", "/registered-models/deployments/remove", body, prefix=SHIPYARD_API)


__all__ = ["RestRegistryStore"]
