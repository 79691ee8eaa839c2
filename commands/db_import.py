"""`shipyard db import --from URL [--to URL] [--artifacts DIR]`: MLflow's history into Shipyard.

The target is the current tracking and registry URIs (`--tracking-uri`/`SHIPYARD_*`/`MLFLOW_*`,
as every command resolves them) unless `--to` names one database for both. Progress is a rich
bar on a terminal and nothing otherwise; the counts per kind are printed at the end.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from shipyard.commands.errors import reports_errors
from shipyard.redact import mask_url
from shipyard.registry.mlflow_import import KINDS, ImportReport, Progress, import_mlflow_database
from shipyard.settings import cli_settings
from shipyard.tracking.fluent_state import resolve_registry_uri, resolve_tracking_uri


@contextlib.contextmanager
def _progress() -> Iterator[Progress]:
    """A rich bar per kind on a terminal (stderr); a no-op elsewhere (logs, CI, pipes)."""
    if not sys.stderr.isatty():
        yield lambda _kind, _done, _total: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn
    from rich.progress import Progress as Bar

    tasks: dict[str, Any] = {}
    with Bar("{task.description}", BarColumn(), MofNCompleteColumn(), console=Console(stderr=True)) as bar:

        def update(kind: str, done: int, total: int) -> None:
            if kind not in tasks:
                tasks[kind] = bar.add_task(kind, total=total)
            bar.update(tasks[kind], completed=done, total=total)

        yield update


def _summary(report: ImportReport) -> list[str]:
    width = max(len(kind) for kind in KINDS)
    lines = [
        f"  {kind:<{width}}  {report.counts[kind].added:>6} added, {report.counts[kind].present} already there"
        for kind in KINDS
    ]
    lines += [f"  experiment {old} is experiment {new} here" for old, new in sorted(report.renumbered.items())]
    lines += [f"  not imported: {reason}" for reason in report.skipped]
    return lines


@click.command("import")
@click.option("--from", "from_url", required=True, help="SQLAlchemy URL of the MLflow database (sqlite:///mlflow.db).")
@click.option("--to", "to_url", default=None, help="Shipyard database to import into [the tracking and registry URI].")
@click.option(
    "--artifacts",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder that replaces the MLflow artifact root recorded in the database (moved files, "
    "or a server's --artifacts-destination).",
)
@click.option("--tracking-uri", default=None, help="Target tracking store [SHIPYARD_/MLFLOW_TRACKING_URI].")
@click.option("--registry-uri", default=None, help="Target registry store [SHIPYARD_/MLFLOW_REGISTRY_URI].")
@reports_errors
def import_(
    from_url: str, to_url: str | None, artifacts: Path | None, tracking_uri: str | None, registry_uri: str | None
) -> None:
    """Copy an MLflow tracking database (experiments, runs, metric history, registered models,
    versions, stages, aliases, tags) into Shipyard; running it again adds nothing."""
    if to_url and (tracking_uri or registry_uri):
        raise click.UsageError("give --to, or --tracking-uri/--registry-uri, not both")
    settings = cli_settings()
    target = resolve_tracking_uri(to_url or tracking_uri, settings)
    registry = resolve_registry_uri(to_url or registry_uri, settings, target)
    with _progress() as progress:
        report = import_mlflow_database(from_url, target, registry, artifacts=artifacts, progress=progress)
    shown = mask_url(target) + ("" if registry == target else f" (registry {mask_url(registry)})")
    click.echo(f"Imported {mask_url(from_url)} into {shown}:")
    click.echo("\n".join(_summary(report)))
    if report.total_added == 0:
        click.echo("Nothing new: everything was imported before.")


__all__ = ["import_"]
