"""Requests of `runs/log-inputs` and `runs/outputs` -> the tracking entities the store records.

Only the request's shape is checked here (objects where MLflow's protos have messages); the
store checks the values (required fields, lengths) for every caller, the Python API included.
"""

from __future__ import annotations

from typing import Any

from shipyard.exceptions import InvalidInput
from shipyard.tracking.entities import Dataset, DatasetInput, InputTag, LoggedModelInput, LoggedModelOutput

_OPTIONAL = ("schema", "profile")


def _object(item: Any, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise InvalidInput(f"{where} must be an object, got {type(item).__name__}")
    return item


def dataset_input(item: Any, where: str) -> DatasetInput:
    """One `{"dataset": {...}, "tags": [...]}` of a log-inputs request."""
    dataset = _object(_object(item, where).get("dataset"), f"{where}.dataset")
    tags = item.get("tags") or []
    if not isinstance(tags, list):
        raise InvalidInput(f"{where}.tags must be a list of objects with a string 'key'")
    checked = [_object(tag, f"{where}.tags[{i}]") for i, tag in enumerate(tags)]
    return DatasetInput(
        Dataset(
            name=dataset.get("name"),  # type: ignore[arg-type]  # NOTE: the store checks the values
            digest=dataset.get("digest"),  # type: ignore[arg-type]
            source_type=dataset.get("source_type"),  # type: ignore[arg-type]
            source=dataset.get("source"),  # type: ignore[arg-type]
            **{k: None if dataset.get(k) is None else str(dataset[k]) for k in _OPTIONAL},
        ),
        [InputTag(tag.get("key"), str(tag.get("value", ""))) for tag in checked],  # type: ignore[arg-type]
    )


def model_input(item: Any, where: str) -> LoggedModelInput:
    """One `{"model_id": ...}` of a log-inputs request."""
    return LoggedModelInput(_object(item, where).get("model_id"))  # type: ignore[arg-type]


def model_output(item: Any, where: str) -> LoggedModelOutput:
    """One `{"model_id": ..., "step": ...}` of a log-outputs request (proto-JSON may send the
    int64 step as a string)."""
    step = _object(item, where).get("step", 0)
    if isinstance(step, bool) or not isinstance(step, (int, str)) or not str(step).lstrip("-").isdigit():
        raise InvalidInput(f"Invalid value {step!r} for parameter '{where}.step' supplied: it must be an integer")
    return LoggedModelOutput(item.get("model_id"), int(step))


__all__ = ["dataset_input", "model_input", "model_output"]
