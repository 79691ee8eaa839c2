"""A run's inputs (datasets, models) and outputs (logged models), as MLflow 3 reports them in `runs/get`.

Kept as one small JSON document per run under the artifact root's internal folder, like the
logged models: only MLflow's clients read them back, and Shipyard's own store does not depend on
them. A dataset input logged twice (same name, digest and tags) is kept once, as MLflow does.
NOTE: read-modify-write is guarded by a lock per process (see `logged_models`).
"""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path
from typing import Any

import orjson

from shipyard.exceptions import InvalidInput
from shipyard.tracking import validation

_DATASET_FIELDS = ("name", "digest", "source_type", "source", "schema", "profile")
_REQUIRED = ("name", "digest", "source_type", "source")


def _empty() -> dict[str, list[dict[str, Any]]]:
    return {"dataset_inputs": [], "model_inputs": [], "model_outputs": []}


def dataset_input(item: Any, where: str) -> dict[str, Any]:
    """One `{"dataset": {...}, "tags": [...]}` of a log-inputs request, checked."""
    if not isinstance(item, dict) or not isinstance(item.get("dataset"), dict):
        raise InvalidInput(f"{where} must be an object with a 'dataset' object")
    dataset = item["dataset"]
    for name in _REQUIRED:
        if not isinstance(dataset.get(name), str) or not dataset[name]:
            raise InvalidInput(f"Missing value for required parameter '{where}.dataset.{name}'.")
    tags = item.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, dict) and isinstance(t.get("key"), str) for t in tags):
        raise InvalidInput(f"{where}.tags must be a list of objects with a string 'key'")
    return {
        "dataset": {k: str(dataset[k]) for k in _DATASET_FIELDS if dataset.get(k) is not None},
        "tags": [{"key": t["key"], "value": str(t.get("value", ""))} for t in tags],
    }


def model_ref(item: Any, where: str, *, with_step: bool) -> dict[str, Any]:
    """One `{"model_id": ...}` (and `step` for outputs) of a request, checked."""
    if not isinstance(item, dict) or not isinstance(item.get("model_id"), str) or not item["model_id"]:
        raise InvalidInput(f"Missing value for required parameter '{where}.model_id'.")
    if not with_step:
        return {"model_id": item["model_id"]}
    step = item.get("step", 0)
    if isinstance(step, bool) or not isinstance(step, (int, str)) or not str(step).lstrip("-").isdigit():
        raise InvalidInput(f"Invalid value {step!r} for parameter '{where}.step' supplied: it must be an integer")
    return {"model_id": item["model_id"], "step": int(step)}


class RunIOStore:
    """One JSON file per run; writes are atomic (temp file + rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()

    def _path(self, run_id: str) -> Path:
        return self.root / f"{validation.check_run_id(run_id)}.json"

    def get(self, run_id: str) -> dict[str, list[dict[str, Any]]]:
        try:
            data: dict[str, list[dict[str, Any]]] = orjson.loads(self._path(run_id).read_bytes())
        except FileNotFoundError:
            return _empty()
        return data

    def add(self, run_id: str, **lists: list[dict[str, Any]]) -> None:
        """Append to `dataset_inputs`, `model_inputs`, `model_outputs`, skipping exact repeats."""
        with self._lock:
            current = self.get(run_id)
            for key, items in lists.items():
                for item in items:
                    if item not in current[key]:
                        current[key].append(item)
            self.root.mkdir(parents=True, exist_ok=True)
            path = self._path(run_id)
            tmp = path.with_suffix(f".{uuid.uuid4().hex[:8]}.tmp")
            tmp.write_bytes(orjson.dumps(current))
            os.replace(tmp, path)


__all__ = ["RunIOStore", "dataset_input", "model_ref"]
