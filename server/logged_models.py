"""MLflow 3's "logged models" (what `mlflow.<flavor>.log_model` creates before uploading files).

Kept as one small JSON document per model under the artifact root's internal folder: the
MLflow client needs them only to learn where to upload a model and to mark it READY, and
Shipyard's own runs and registry do not depend on them.
NOTE: read-modify-write of one document is guarded by a lock per process; two server workers
changing the same model's tags at the same instant may lose one change (acceptable for tags).
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

from shipyard.exceptions import InvalidInput, ResourceNotFound

STATUSES = (
    "LOGGED_MODEL_STATUS_UNSPECIFIED",
    "LOGGED_MODEL_PENDING",
    "LOGGED_MODEL_READY",
    "LOGGED_MODEL_UPLOAD_FAILED",
)
_MODEL_ID = re.compile(r"^m-[0-9a-f]{32}$")


def check_model_id(model_id: str) -> str:
    if not isinstance(model_id, str) or not _MODEL_ID.match(model_id):
        raise InvalidInput(f"model_id {model_id!r} is not a logged model id (m-<32 hex digits>)")
    return model_id


class LoggedModelStore:
    """One JSON file per logged model; writes are atomic (temp file + rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()

    def _path(self, model_id: str) -> Path:
        return self.root / f"{check_model_id(model_id)}.json"

    def _write(self, model: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        path = self._path(model["model_id"])
        tmp = path.with_suffix(f".{uuid.uuid4().hex[:8]}.tmp")
        tmp.write_bytes(orjson.dumps(model))
        os.replace(tmp, path)

    def get(self, model_id: str) -> dict[str, Any]:
        path = self._path(model_id)
        try:
            data: dict[str, Any] = orjson.loads(path.read_bytes())
        except FileNotFoundError:
            raise ResourceNotFound(f"Logged model with ID '{model_id}' not found.") from None  # MLflow's words
        return data

    def create(
        self,
        *,
        experiment_id: str,
        artifact_location: str,
        name: str | None,
        source_run_id: str | None,
        model_type: str | None,
        tags: dict[str, str],
        params: dict[str, str],
    ) -> dict[str, Any]:
        model_id = f"m-{uuid.uuid4().hex}"
        now = int(time.time() * 1000)
        model = {
            "model_id": model_id,
            "experiment_id": experiment_id,
            "name": name or model_id,
            "artifact_location": f"{artifact_location.rstrip('/')}/models/{model_id}/artifacts",
            "creation_timestamp_ms": now,
            "last_updated_timestamp_ms": now,
            "model_type": model_type,
            "source_run_id": source_run_id,
            "status": "LOGGED_MODEL_PENDING",
            "status_message": None,
            "tags": tags,
            "params": params,
        }
        with self._lock:
            self._write(model)
        return model

    def update(self, model_id: str, **changes: Any) -> dict[str, Any]:
        """Apply `changes` (`tags`/`params` are merged, `status` checked) and save."""
        with self._lock:
            model = self.get(model_id)
            for key, value in changes.items():
                if key in ("tags", "params"):
                    model[key] = {**model[key], **value}
                elif key == "status" and value not in STATUSES:
                    raise InvalidInput(f"status {value!r} is not one of {', '.join(STATUSES)}")
                else:
                    model[key] = value
            model["last_updated_timestamp_ms"] = int(time.time() * 1000)
            self._write(model)
        return model

    def delete_tag(self, model_id: str, key: str) -> None:
        with self._lock:
            model = self.get(model_id)
            if key not in model["tags"]:
                raise ResourceNotFound(f"logged model {model_id!r} has no tag {key!r}")
            del model["tags"][key]
            self._write(model)

    def delete(self, model_id: str) -> None:
        """Forget the model (its files stay where they were logged, as MLflow leaves them)."""
        with self._lock:
            self.get(model_id)
            self._path(model_id).unlink(missing_ok=True)

    def search(self, experiment_ids: list[str]) -> list[dict[str, Any]]:
        """Every model of those experiments, in MLflow's default order: newest first, then id."""
        if not self.root.is_dir():
            return []
        found = []
        for path in self.root.glob("m-*.json"):
            model: dict[str, Any] = orjson.loads(path.read_bytes())
            if not experiment_ids or model["experiment_id"] in experiment_ids:
                found.append(model)
        found.sort(key=lambda m: (-m["creation_timestamp_ms"], m["model_id"]))
        return found


__all__ = ["LoggedModelStore", "STATUSES", "check_model_id"]
