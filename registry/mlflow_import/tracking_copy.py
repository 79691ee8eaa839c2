"""Copying MLflow's experiments and runs (params, tags, full metric history, inputs and outputs).

Ids: an experiment whose name already exists in Shipyard is that experiment (MLflow's `Default`
is Shipyard's experiment 0); otherwise it keeps MLflow's id when that id is free, else gets a
new one (listed in the report). Runs keep MLflow's run ids. Each run is copied in one
transaction with everything it logged, and a run already present is left alone, so a second
import (or one resumed after a failure) adds nothing twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shipyard.registry.mlflow_import.locations import ArtifactLocator
from shipyard.registry.mlflow_import.reader import MlflowDatabase, Row
from shipyard.registry.mlflow_import.report import ImportReport, Progress
from shipyard.tracking.db import session_scope
from shipyard.tracking.entities import (
    Dataset,
    DatasetInput,
    InputTag,
    LoggedModelInput,
    LoggedModelOutput,
    Metric,
    Param,
    RunTag,
)
from shipyard.tracking.orm import SqlExperiment, SqlExperimentTag, SqlRun
from shipyard.tracking.sql_batch import write_batch
from shipyard.tracking.sql_inputs import write_inputs, write_outputs
from shipyard.tracking.sql_rows import PARENT_RUN_TAG, RUN_NAME_TAG


@dataclass
class RunIO:
    """One MLflow run's rows of `inputs` (datasets with their input tags, model inputs, outputs)."""

    datasets: list[DatasetInput] = field(default_factory=list)
    models_in: list[LoggedModelInput] = field(default_factory=list)
    models_out: list[LoggedModelOutput] = field(default_factory=list)


def copy_experiments(
    db: MlflowDatabase, engine: sa.Engine, locator: ArtifactLocator, report: ImportReport
) -> dict[str, int]:
    """Experiments and their tags; returns MLflow experiment id -> Shipyard experiment id."""
    ids: dict[str, int] = {}
    tags: dict[str, list[Row]] = defaultdict(list)
    for tag in db.rows("experiment_tags"):
        tags[str(tag["experiment_id"])].append(tag)
    for row in db.rows("experiments", order_by=("experiment_id",)):
        mlflow_id = str(row["experiment_id"])
        with session_scope(engine) as s:
            existing = s.scalars(sa.select(SqlExperiment).where(SqlExperiment.name == row["name"])).one_or_none()
            if existing is not None:
                report.present("experiments")
                target = existing.experiment_id
            else:
                free = s.get(SqlExperiment, int(mlflow_id)) is None
                experiment = SqlExperiment(
                    name=row["name"],
                    artifact_location=locator.rewrite(row["artifact_location"]),
                    lifecycle_stage=row["lifecycle_stage"],
                    creation_time=row.get("creation_time"),
                    last_update_time=row.get("last_update_time"),
                )
                if free:
                    experiment.experiment_id = int(mlflow_id)
                s.add(experiment)
                s.flush()
                target = experiment.experiment_id
                report.added("experiments")
            if str(target) != mlflow_id:
                report.renumbered[mlflow_id] = str(target)
            ids[mlflow_id] = target
            have = set(s.scalars(sa.select(SqlExperimentTag.key).where(SqlExperimentTag.experiment_id == target)))
            for tag in tags[mlflow_id]:
                if tag["key"] in have:
                    report.present("experiment tags")
                    continue
                s.add(SqlExperimentTag(experiment_id=target, key=tag["key"], value=tag["value"]))
                report.added("experiment tags")
    _advance_sequence(engine)
    return ids


def _advance_sequence(engine: sa.Engine) -> None:
    """NOTE: PostgreSQL does not move a serial column's sequence past ids inserted explicitly;
    without this the next `create_experiment` would collide with an imported id."""
    if engine.dialect.name != "postgresql":
        return
    with session_scope(engine) as s:
        s.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence('experiments', 'experiment_id'), "
                "GREATEST(MAX(experiment_id), 1), MAX(experiment_id) >= 1) FROM experiments"
            )
        )


def _io_by_run(db: MlflowDatabase) -> dict[str, RunIO]:
    """Run id -> its inputs and outputs (MLflow 2.4+ `inputs`/`datasets`/`input_tags`, MLflow 3's
    model links; none in older schemas)."""
    datasets = {d["dataset_uuid"]: d for d in db.rows("datasets")}
    tags: dict[str, list[InputTag]] = defaultdict(list)
    for tag in db.rows("input_tags", order_by=("name",)):
        tags[tag["input_uuid"]].append(InputTag(tag["name"], tag["value"]))
    by_run: dict[str, RunIO] = defaultdict(RunIO)
    for link in db.rows("inputs"):
        kinds = (link["source_type"], link["destination_type"])
        if kinds == ("RUN_INPUT", "MODEL_INPUT"):
            by_run[link["source_id"]].models_in.append(LoggedModelInput(link["destination_id"]))
        elif kinds == ("RUN_OUTPUT", "MODEL_OUTPUT"):
            by_run[link["source_id"]].models_out.append(
                LoggedModelOutput(link["destination_id"], link.get("step") or 0)
            )
        elif kinds == ("DATASET", "RUN") and (d := datasets.get(link["source_id"])) is not None:
            dataset = Dataset(
                d["name"],
                d["digest"],
                d["dataset_source_type"],
                d["dataset_source"],
                d.get("dataset_schema"),
                d.get("dataset_profile"),
            )
            by_run[link["destination_id"]].datasets.append(DatasetInput(dataset, tags[link["input_uuid"]]))
    return by_run


def copy_runs(
    db: MlflowDatabase,
    engine: sa.Engine,
    locator: ArtifactLocator,
    experiment_ids: dict[str, int],
    report: ImportReport,
    progress: Progress,
) -> None:
    """Every run of an imported experiment, each in its own transaction."""
    total = db.count("runs")
    io = _io_by_run(db)
    orphans: dict[str, int] = defaultdict(int)
    for done, row in enumerate(db.rows("runs", order_by=("start_time", "run_uuid")), start=1):
        run_id = row["run_uuid"]
        experiment = experiment_ids.get(str(row["experiment_id"]))
        if experiment is None:
            orphans[str(row["experiment_id"])] += 1
        else:
            with session_scope(engine) as s:
                if s.get(SqlRun, run_id) is not None:
                    report.present("runs")
                else:
                    _copy_run(db, s, row, experiment, locator, io.get(run_id, RunIO()), report)
        progress("runs", done, total)
    for experiment_id, count in sorted(orphans.items()):
        report.skipped.append(f"{count} run(s) of experiment {experiment_id}, which was not imported")


def _copy_run(
    db: MlflowDatabase,
    s: Session,
    row: Row,
    experiment_id: int,
    locator: ArtifactLocator,
    io: RunIO,
    report: ImportReport,
) -> None:
    run_id = row["run_uuid"]
    tags = [RunTag(t["key"], t["value"]) for t in db.rows("tags", run_uuid=run_id)]
    tag_map = dict(tags)
    params = [Param(p["key"], p["value"]) for p in db.rows("params", run_uuid=run_id)]
    metrics = [
        Metric(m["key"], float("nan") if m.get("is_nan") else float(m["value"]), m["timestamp"], m["step"] or 0, run_id)
        for m in db.rows("metrics", order_by=("key", "step", "timestamp"), run_uuid=run_id)
    ]
    s.add(
        SqlRun(
            run_uuid=run_id,
            name=row.get("name") or tag_map.get(RUN_NAME_TAG),
            experiment_id=experiment_id,
            user_id=row.get("user_id"),
            status=row["status"],
            start_time=row.get("start_time"),
            end_time=row.get("end_time"),
            deleted_time=row.get("deleted_time"),
            artifact_uri=locator.rewrite(row.get("artifact_uri")),
            lifecycle_stage=row["lifecycle_stage"],
            parent_run_id=tag_map.get(PARENT_RUN_TAG),
        )
    )
    s.flush()
    write_batch(s, run_id, metrics, params, tags)
    write_inputs(s, run_id, io.datasets, io.models_in)
    write_outputs(s, run_id, io.models_out)
    report.added("runs")
    report.added("params", len(params))
    report.added("run tags", len(tags))
    report.added("metrics", len(metrics))
    report.added("datasets", len(io.datasets))


__all__ = ["copy_experiments", "copy_runs"]
