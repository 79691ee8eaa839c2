"""Copying MLflow's registered models, versions (files into verified storage), stages, aliases, tags.

Versions keep MLflow's numbers, stages and times. Each version's folder is found first for
every version (`plan_versions`), so missing artifacts stop the import before anything is
written; then each version's files go through `VersionStorage.put` (copied, hashed, fsynced,
re-verified, published under their digest) and only after that is its READY row written, the
order `registration.register_version` keeps. A version already present is left alone.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from shipyard.registry import dbmodels as m
from shipyard.registry.entities import STAGE_NONE, STATUS_READY, canonical_stage
from shipyard.registry.mlflow_import.locations import ArtifactLocator, version_source
from shipyard.registry.mlflow_import.reader import MlflowDatabase, Row
from shipyard.registry.mlflow_import.report import ImportReport, Progress
from shipyard.registry.registration import version_storage
from shipyard.registry.sql_deploy import validate_alias
from shipyard.registry.sql_store import SqlRegistryStore
from shipyard.tracking.db import session_scope


@dataclass(frozen=True)
class PlannedVersion:
    row: Row
    folder: Path


def plan_versions(db: MlflowDatabase, locator: ArtifactLocator, report: ImportReport) -> list[PlannedVersion]:
    """Every READY version with the local folder its files are read from (an error names the
    first version whose folder is missing)."""
    run_artifacts = {r["run_uuid"]: r.get("artifact_uri") for r in db.rows("runs")}
    logged = {r["model_id"]: r.get("artifact_location") for r in db.rows("logged_models")}
    planned = []
    for row in db.rows("model_versions", order_by=("name", "version")):
        what = f"model {row['name']!r} version {row['version']}"
        if row.get("status") not in (None, STATUS_READY):
            report.skipped.append(f"{what}: it is {row['status']} in MLflow, not {STATUS_READY}")
            continue
        recorded = version_source(row.get("storage_location"), row.get("source"), run_artifacts, logged, what=what)
        planned.append(PlannedVersion(row, locator.local_dir(recorded, what=what)))
    return planned


def copy_models(db: MlflowDatabase, store: SqlRegistryStore, report: ImportReport) -> None:
    tags: dict[str, list[Row]] = defaultdict(list)
    for tag in db.rows("registered_model_tags"):
        tags[tag["name"]].append(tag)
    for row in db.rows("registered_models", order_by=("name",)):
        name = row["name"]
        with session_scope(store.engine) as s:
            if s.get(m.SqlRegisteredModel, name) is not None:
                report.present("registered models")
            else:
                s.add(
                    m.SqlRegisteredModel(
                        name=name,
                        creation_time=row.get("creation_time") or 0,
                        last_updated_time=row.get("last_updated_time") or row.get("creation_time") or 0,
                        description=row.get("description"),
                        last_version=0,
                    )
                )
                s.flush()
                report.added("registered models")
            for tag in tags[name]:
                if s.get(m.SqlRegisteredModelTag, (name, tag["key"])) is not None:
                    report.present("model tags")
                    continue
                s.add(m.SqlRegisteredModelTag(name=name, key=tag["key"], value=tag["value"]))
                report.added("model tags")


def copy_versions(
    db: MlflowDatabase, store: SqlRegistryStore, planned: list[PlannedVersion], report: ImportReport, progress: Progress
) -> None:
    tags: dict[tuple[str, int], list[Row]] = defaultdict(list)
    for tag in db.rows("model_version_tags"):
        tags[(tag["name"], int(tag["version"]))].append(tag)
    storage = version_storage(store)
    for done, plan in enumerate(planned, start=1):
        name, number = plan.row["name"], int(plan.row["version"])
        with session_scope(store.engine, read_only=True) as s:
            present = s.get(m.SqlModelVersion, (name, number)) is not None
        if present:
            report.present("versions")
        else:
            with storage.lock(exclusive=False):
                copy = storage.put(plan.folder)
                _write_version(store, plan.row, copy.digest, copy.path.resolve().as_uri(), tags[(name, number)], report)
        progress("versions", done, len(planned))


def _write_version(
    store: SqlRegistryStore, row: Row, digest: str, location: str, tags: list[Row], report: ImportReport
) -> None:
    name, number = row["name"], int(row["version"])
    with session_scope(store.engine) as s:
        model = s.get_one(m.SqlRegisteredModel, name, with_for_update=True)
        model.last_version = max(model.last_version, number)
        created = row.get("creation_time") or model.creation_time
        s.add(
            m.SqlModelVersion(
                name=name,
                version=number,
                creation_time=created,
                last_updated_time=row.get("last_updated_time") or created,
                description=row.get("description"),
                user_id=row.get("user_id"),
                current_stage=canonical_stage(row.get("current_stage") or STAGE_NONE),
                source=row.get("source"),
                run_id=row.get("run_id"),
                status=STATUS_READY,
                digest=digest,
                storage_location=location,
            )
        )
        s.flush()
        for tag in tags:
            s.add(m.SqlModelVersionTag(name=name, version=number, key=tag["key"], value=tag["value"]))
    report.added("versions")
    report.added("version tags", len(tags))


def copy_aliases(db: MlflowDatabase, store: SqlRegistryStore, report: ImportReport) -> None:
    """MLflow 2.3+ aliases; one whose version was not imported is reported, not guessed."""
    for row in db.rows("registered_model_aliases", order_by=("name", "alias")):
        name, alias, number = row["name"], row["alias"], int(row["version"])
        with session_scope(store.engine) as s:
            if s.get(m.SqlRegisteredModelAlias, (name, alias)) is not None:
                report.present("aliases")
                continue
            if s.get(m.SqlModelVersion, (name, number)) is None:
                report.skipped.append(f"alias {name}@{alias}: version {number} was not imported")
                continue
            s.add(m.SqlRegisteredModelAlias(name=name, alias=validate_alias(alias), version=number))
            report.added("aliases")


__all__ = ["PlannedVersion", "copy_aliases", "copy_models", "copy_versions", "plan_versions"]
