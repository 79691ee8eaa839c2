"""`shipyard gc`: permanently delete runs and experiments marked deleted, and their artifacts.

MLflow's rules: without ids, every deleted run (and experiment) goes, or those deleted longer
ago than `--older-than`; ids given must name deleted runs (experiments), old enough when
`--older-than` is given; an experiment takes all its runs with it. Artifacts go before the rows,
so a failure leaves a row to retry from, never files nobody can find.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import click

from shipyard.commands.errors import reports_errors
from shipyard.exceptions import InvalidState
from shipyard.redact import mask_url
from shipyard.settings import Settings, cli_settings
from shipyard.tracking import sql_gc
from shipyard.tracking.artifacts import file_uri_to_path, get_artifact_repository
from shipyard.tracking.client import TrackingClient
from shipyard.tracking.entities import LifecycleStage, Run, ViewType
from shipyard.tracking.fluent_search import all_runs
from shipyard.tracking.fluent_state import http_for, resolve_tracking_uri
from shipyard.tracking.sql_rows import now_ms
from shipyard.tracking.sql_store import SqlTrackingStore

_AGE = re.compile(r"^((?P<days>[.\d]+?)d)?((?P<hours>[.\d]+?)h)?((?P<minutes>[.\d]+?)m)?((?P<seconds>[.\d]+?)s)?$")


def parse_age(text: str) -> int:
    """`1d2h3m4s` (each part optional, floats allowed) -> milliseconds."""
    match = _AGE.match(text)
    parts = {name: value for name, value in (match.groupdict() if match else {}).items() if value}
    try:
        return int(dt.timedelta(**{k: float(v) for k, v in parts.items()}).total_seconds() * 1000) if parts else -1
    except ValueError:
        return -1


def _ids(text: str | None) -> list[str] | None:
    return None if not text else [part.strip() for part in text.split(",") if part.strip()]


def _remove_artifacts(run: Run, settings: Settings) -> None:
    """The run's artifact folder; for a local one also the emptied `<run id>/` folder above it."""
    uri = run.info.artifact_uri
    if not uri:
        return
    get_artifact_repository(uri, http_for(settings)).delete_artifacts()
    if "://" in uri and not uri.startswith("file:"):
        return
    folder = file_uri_to_path(uri) if uri.startswith("file:") else Path(uri)
    if folder.name == "artifacts" and folder.parent.name == run.info.run_id:
        _remove_if_empty(folder.parent)


def _remove_if_empty(folder: Path) -> None:
    if folder.is_dir() and not any(folder.iterdir()):
        os.rmdir(folder)


@click.command("gc")
@click.option(
    "--older-than", default=None, help="Only what was deleted longer ago than this: #d#h#m#s, e.g. 1d2h, 1.5d"
)
@click.option(
    "--backend-store-uri",
    default=None,
    help="The tracking database [SHIPYARD_TRACKING_URI, then MLFLOW_TRACKING_URI, default sqlite in the cwd]",
)
@click.option(
    "--run-ids", default=None, help="Comma-separated runs to remove (each must be deleted) [default: all deleted]"
)
@click.option(
    "--experiment-ids",
    default=None,
    help="Comma-separated experiments to remove with all their runs (each must be deleted) [default: all deleted]",
)
@reports_errors
def gc(older_than: str | None, backend_store_uri: str | None, run_ids: str | None, experiment_ids: str | None) -> None:
    """Permanently delete runs and experiments in the deleted stage, and their artifacts."""
    age = 0
    if older_than is not None:
        age = parse_age(older_than)
        if age < 0:
            raise click.BadParameter(
                f"{older_than!r} is not a duration; examples: 8h, 2d8h5m20s, 1.5d", param_hint="--older-than"
            )
    settings = cli_settings()
    uri = resolve_tracking_uri(backend_store_uri, settings)
    client = TrackingClient(uri, settings=settings)
    store = client.store
    if not isinstance(store, SqlTrackingStore):
        raise click.BadParameter(
            f"{mask_url(uri)} is not a database; gc deletes rows, so give the database itself "
            "(sqlite:///path.db, postgresql://...)",
            param_hint="--backend-store-uri",
        )
    old_enough = set(store._get_deleted_runs(age))
    experiments = _experiments_to_remove(client, store, _ids(experiment_ids), older_than, age)
    to_remove: dict[str, Run] = {}
    named = _ids(run_ids)
    for run_id in named if named is not None else sorted(old_enough):
        run = client.get_run(run_id)
        if run.info.lifecycle_stage != LifecycleStage.DELETED:
            raise InvalidState(f"run {run_id!r} is not deleted; only deleted runs can be removed")
        if older_than is not None and run_id not in old_enough:
            raise InvalidState(f"run {run_id!r} was deleted less than {older_than} ago")
        to_remove[run_id] = run
    if experiments:  # an experiment takes every run it has, whatever their stage
        to_remove.update((r.info.run_id, r) for r in all_runs(client, experiments, ViewType.ALL))
    for run_id, run in to_remove.items():
        _remove_artifacts(run, settings)
        store._hard_delete_run(run_id)
        click.echo(f"Run with ID {run_id} has been permanently deleted.")
    for experiment_id in experiments:
        location = client.get_experiment(experiment_id).artifact_location
        store._hard_delete_experiment(experiment_id)
        if location == f"{store.artifact_root}/{experiment_id}" and location.startswith("file:"):
            _remove_if_empty(file_uri_to_path(location))  # only the store's own, emptied folder
        click.echo(f"Experiment with ID {experiment_id} has been permanently deleted.")


def _experiments_to_remove(
    client: TrackingClient, store: SqlTrackingStore, ids: list[str] | None, older_than: str | None, age: int
) -> list[str]:
    if ids is None:
        return sql_gc.deleted_experiment_ids(store.engine, age if older_than is not None else None)
    threshold = now_ms() - age
    for experiment_id in ids:
        experiment = client.get_experiment(experiment_id)
        if experiment.lifecycle_stage != LifecycleStage.DELETED:
            raise InvalidState(f"experiment {experiment_id!r} is not deleted; only deleted experiments can be removed")
        if older_than is not None and (experiment.last_update_time or threshold) >= threshold:
            raise InvalidState(f"experiment {experiment_id!r} was deleted less than {older_than} ago")
    return ids


__all__ = ["gc", "parse_age"]
