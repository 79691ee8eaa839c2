"""Entities -> MLflow's REST JSON shapes (the field names and types its protobufs parse).

NOTE: proto-JSON is strict about types: a model version's `version` and every id are strings,
doubles that are not finite are the strings "NaN"/"Infinity", enums are their names.
"""

from __future__ import annotations

from typing import Any

from shipyard.registry.entities import ModelVersion, RegisteredModel
from shipyard.server.artifact_uris import ArtifactUris
from shipyard.server.protocol import json_float
from shipyard.tracking.entities import Experiment, Metric, Run


def key_values(mapping: dict[str, Any]) -> list[dict[str, str]]:
    return [{"key": key, "value": str(value)} for key, value in mapping.items()]


def _drop_none(payload: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in payload.items() if value is not None}


def experiment_json(experiment: Experiment, uris: ArtifactUris) -> dict[str, Any]:
    return _drop_none(
        {
            "experiment_id": experiment.experiment_id,
            "name": experiment.name,
            "artifact_location": uris.to_client(experiment.artifact_location),
            "lifecycle_stage": experiment.lifecycle_stage,
            "creation_time": experiment.creation_time,
            "last_update_time": experiment.last_update_time,
            "tags": key_values(experiment.tags),
        }
    )


def metric_json(metric: Metric) -> dict[str, Any]:
    return {"key": metric.key, "value": json_float(metric.value), "timestamp": metric.timestamp, "step": metric.step}


def _inputs_json(run: Run) -> dict[str, Any]:
    return {
        "dataset_inputs": [
            {
                "dataset": _drop_none(d.dataset.to_dictionary()),
                "tags": [{"key": t.key, "value": t.value} for t in d.tags],
            }
            for d in run.inputs.dataset_inputs
        ],
        "model_inputs": [m.to_dictionary() for m in run.inputs.model_inputs],
    }


def run_json(run: Run, uris: ArtifactUris, latest: dict[str, tuple[int, int]] | None = None) -> dict[str, Any]:
    """`latest` gives each latest metric's (timestamp, step); missing ones read as (0, 0)."""
    info = run.info
    latest = latest or {}
    return {
        "info": _drop_none(
            {
                "run_id": info.run_id,
                "run_uuid": info.run_id,
                "experiment_id": info.experiment_id,
                "run_name": info.run_name,
                "user_id": info.user_id,
                "status": info.status,
                "start_time": info.start_time,
                "end_time": info.end_time,
                "artifact_uri": uris.to_client(info.artifact_uri),
                "lifecycle_stage": info.lifecycle_stage,
            }
        ),
        "data": {
            "metrics": [
                {
                    "key": key,
                    "value": json_float(value),
                    "timestamp": latest.get(key, (0, 0))[0],
                    "step": latest.get(key, (0, 0))[1],
                }
                for key, value in run.data.metrics.items()
            ],
            "params": key_values(run.data.params),
            "tags": key_values(run.data.tags),
        },
        "inputs": _inputs_json(run),
        "outputs": {"model_outputs": [m.to_dictionary() for m in run.outputs.model_outputs]},
    }


def model_version_json(mv: ModelVersion, uris: ArtifactUris) -> dict[str, Any]:
    return _drop_none(
        {
            "name": mv.name,
            "version": str(mv.version),
            "creation_timestamp": mv.creation_timestamp,
            "last_updated_timestamp": mv.last_updated_timestamp,
            "current_stage": mv.current_stage,
            "description": mv.description,
            "user_id": mv.user_id,
            "source": mv.source,
            "run_id": mv.run_id,
            "run_link": mv.run_link,
            "status": mv.status,
            "status_message": mv.status_message,
            "tags": key_values(mv.tags),
            "aliases": list(mv.aliases),
            # Shipyard's additions (MLflow's client ignores unknown fields):
            "digest": mv.digest,
            "storage_location": uris.to_client(mv.storage_location),
        }
    )


def registered_model_json(model: RegisteredModel, uris: ArtifactUris) -> dict[str, Any]:
    return _drop_none(
        {
            "name": model.name,
            "creation_timestamp": model.creation_timestamp,
            "last_updated_timestamp": model.last_updated_timestamp,
            "description": model.description,
            "latest_versions": [model_version_json(mv, uris) for mv in model.latest_versions],
            "tags": key_values(model.tags),
            "aliases": [{"alias": alias, "version": str(version)} for alias, version in model.aliases.items()],
        }
    )


__all__ = [
    "experiment_json",
    "key_values",
    "metric_json",
    "model_version_json",
    "registered_model_json",
    "run_json",
]
