"""Rows of the tracking tables to the entities callers see, and the values new rows get.

Kept apart from the store so the ORM rows never leave SQL code and the store stays about the
operations (mlflow keeps `dbmodels` and `entities` apart the same way).
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shipyard.exceptions import ResourceNotFound
from shipyard.tracking import validation
from shipyard.tracking.entities import Experiment, Run, RunData, RunInfo
from shipyard.tracking.orm import SqlExperiment, SqlExperimentTag, SqlLatestMetric, SqlParam, SqlRun, SqlTag

RUN_NAME_TAG = "mlflow.runName"
PARENT_RUN_TAG = "mlflow.parentRunId"
# fmt: off
_ADJECTIVES = (
    "amber", "bold", "calm", "deft", "eager", "fleet", "grand", "hardy",
    "keen", "lucid", "merry", "nimble", "quiet", "swift", "tidy", "vivid",
)
_NOUNS = (
    "anchor", "brig", "cutter", "dory", "ferry", "galley", "hull", "keel",
    "mast", "oar", "prow", "rudder", "sloop", "tide", "wharf", "yawl",
)
# fmt: on


def now_ms() -> int:
    return int(time.time() * 1000)


def random_run_name() -> str:
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{random.randint(100, 999)}"


def experiment_row(session: Session, experiment_id: str) -> SqlExperiment:
    row = session.get(SqlExperiment, validation.check_experiment_id(experiment_id))
    if row is None:
        raise ResourceNotFound(f"No Experiment with id={experiment_id} exists")  # MLflow's words
    return row


def to_experiment(session: Session, row: SqlExperiment) -> Experiment:
    tags = session.execute(
        sa.select(SqlExperimentTag.key, SqlExperimentTag.value).where(
            SqlExperimentTag.experiment_id == row.experiment_id
        )
    ).all()
    return Experiment(
        experiment_id=str(row.experiment_id),
        name=row.name,
        artifact_location=row.artifact_location or "",
        lifecycle_stage=row.lifecycle_stage,
        tags={key: "" if value is None else value for key, value in tags},  # NULL: never written here
        creation_time=row.creation_time,
        last_update_time=row.last_update_time,
    )


def run_row(session: Session, run_id: str) -> SqlRun:
    row = session.get(SqlRun, validation.check_run_id(run_id))
    if row is None:
        raise ResourceNotFound(f"Run '{run_id}' not found")  # MLflow's words: clients match on them
    return row


def run_info(row: SqlRun) -> RunInfo:
    return RunInfo(
        run_id=row.run_uuid,
        experiment_id=str(row.experiment_id),
        run_name=row.name,
        user_id=row.user_id,
        status=row.status,
        start_time=row.start_time,
        end_time=row.end_time,
        artifact_uri=row.artifact_uri or "",
        lifecycle_stage=row.lifecycle_stage,
        parent_run_id=row.parent_run_id,
    )


def runs_of(session: Session, rows: Sequence[SqlRun]) -> list[Run]:
    """Entities for many runs with three queries (params, tags, latest metrics), not 3 per run."""
    ids = [row.run_uuid for row in rows]
    data: dict[str, tuple[dict[str, float], dict[str, str], dict[str, str]]] = {i: ({}, {}, {}) for i in ids}
    for chunk_start in range(0, len(ids), 500):
        chunk = ids[chunk_start : chunk_start + 500]
        for run_id, key, metric, nan in session.execute(
            sa.select(
                SqlLatestMetric.run_uuid, SqlLatestMetric.key, SqlLatestMetric.value, SqlLatestMetric.is_nan
            ).where(SqlLatestMetric.run_uuid.in_(chunk))
        ):
            data[run_id][0][key] = float("nan") if nan else metric
        for run_id, key, param in session.execute(
            sa.select(SqlParam.run_uuid, SqlParam.key, SqlParam.value).where(SqlParam.run_uuid.in_(chunk))
        ):
            data[run_id][1][key] = param
        for run_id, key, tag in session.execute(
            sa.select(SqlTag.run_uuid, SqlTag.key, SqlTag.value).where(SqlTag.run_uuid.in_(chunk))
        ):
            data[run_id][2][key] = "" if tag is None else tag  # NULL: never written here
    return [Run(run_info(row), RunData(*data[row.run_uuid])) for row in rows]


__all__ = [
    "PARENT_RUN_TAG",
    "RUN_NAME_TAG",
    "experiment_row",
    "now_ms",
    "random_run_name",
    "run_info",
    "run_row",
    "runs_of",
    "to_experiment",
]
