"""Runs as a pandas DataFrame with MLflow's `search_runs` columns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shipyard.tracking.entities import Run

BASE_COLUMNS = ("run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time")


def runs_to_frame(runs: Sequence[Run]) -> Any:
    """One row per run: the info columns (times as UTC datetimes), then `metrics.<key>`,
    `params.<key>` and `tags.<key>` columns (missing values are NaN/None)."""
    import pandas as pd

    records: list[dict[str, Any]] = []
    metric_keys: set[str] = set()
    param_keys: set[str] = set()
    tag_keys: set[str] = set()
    for run in runs:
        record: dict[str, Any] = {
            "run_id": run.info.run_id,
            "experiment_id": run.info.experiment_id,
            "status": run.info.status,
            "artifact_uri": run.info.artifact_uri,
            "start_time": run.info.start_time,
            "end_time": run.info.end_time,
        }
        for prefix, values, keys in (
            ("metrics", run.data.metrics, metric_keys),
            ("params", run.data.params, param_keys),
            ("tags", run.data.tags, tag_keys),
        ):
            for key, value in values.items():
                record[f"{prefix}.{key}"] = value
                keys.add(key)
        records.append(record)
    columns = [
        *BASE_COLUMNS,
        *(f"metrics.{k}" for k in sorted(metric_keys)),
        *(f"params.{k}" for k in sorted(param_keys)),
        *(f"tags.{k}" for k in sorted(tag_keys)),
    ]
    frame = pd.DataFrame.from_records(records, columns=columns)
    for column in ("start_time", "end_time"):
        frame[column] = pd.to_datetime(frame[column], unit="ms", utc=True)
    for key in metric_keys:
        frame[f"metrics.{key}"] = frame[f"metrics.{key}"].astype("float64")
    return frame


__all__ = ["runs_to_frame"]
