"""`import_mlflow_database`: an MLflow tracking database's history into Shipyard's SQL stores.

The target is a Shipyard database (the current tracking and registry URIs, or one `--to` URL);
a tracking server (`http://`) is refused: the import writes rows with MLflow's ids and times,
which no REST call can. Order: read and check the source, find every version's files (so
missing artifacts fail before anything is written), then experiments, runs, registered
models, versions, aliases.
"""

from __future__ import annotations

from pathlib import Path

from shipyard.exceptions import InvalidInput
from shipyard.redact import mask_url
from shipyard.registry.mlflow_import.locations import ArtifactLocator, recorded_roots
from shipyard.registry.mlflow_import.reader import MlflowDatabase
from shipyard.registry.mlflow_import.registry_copy import copy_aliases, copy_models, copy_versions, plan_versions
from shipyard.registry.mlflow_import.report import ImportReport, Progress, no_progress
from shipyard.registry.mlflow_import.tracking_copy import copy_experiments, copy_runs
from shipyard.registry.sql_store import SqlRegistryStore
from shipyard.tracking.sql_store import SqlTrackingStore
from shipyard.tracking.store import STORES, store_class


def _check_target(uri: str, what: str) -> None:
    if store_class(STORES, uri, what=what) is not SqlTrackingStore:
        raise InvalidInput(
            f"{what} URI {mask_url(uri)} is not a database; the import writes into a Shipyard database "
            "(sqlite:///..., postgresql://...): run it against the server's database with --to URL"
        )


def import_mlflow_database(
    from_url: str,
    tracking_uri: str,
    registry_uri: str,
    *,
    artifacts: Path | None = None,
    progress: Progress = no_progress,
) -> ImportReport:
    """Copy everything; records already present are counted, not copied again (idempotent)."""
    _check_target(tracking_uri, "tracking")
    _check_target(registry_uri, "registry")
    if artifacts is not None and not artifacts.is_dir():
        raise InvalidInput(f"--artifacts {str(artifacts)!r} is not a folder")
    report = ImportReport()
    source = MlflowDatabase(from_url)
    try:
        roots = recorded_roots((str(r["experiment_id"]), r["artifact_location"]) for r in source.rows("experiments"))
        locator = ArtifactLocator(roots, artifacts)
        planned = plan_versions(source, locator, report)
        report.skipped += [
            f"MLflow workspace {w!r} (only the default workspace is read)" for w in source.other_workspaces()
        ]
        tracking = SqlTrackingStore.from_uri(tracking_uri)
        registry = SqlRegistryStore.open(registry_uri)
        try:
            experiments = copy_experiments(source, tracking.engine, locator, report)
            progress("experiments", len(experiments), len(experiments))
            copy_runs(source, tracking.engine, locator, experiments, report, progress)
            copy_models(source, registry, report)
            copy_versions(source, registry, planned, report, progress)
            copy_aliases(source, registry, report)
        finally:
            tracking.engine.dispose()
            registry.close()
    finally:
        source.close()
    return report


__all__ = ["import_mlflow_database"]
