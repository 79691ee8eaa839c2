"""`shipyard runs list|describe|delete|restore`: MLflow's flags and output, through `TrackingClient`."""

from __future__ import annotations

import click

from shipyard.commands.errors import reports_errors
from shipyard.commands.output import table, to_json, when
from shipyard.commands.tracking_edge import VIEWS, open_client, tracking_uri_option, view_option
from shipyard.tracking.fluent_search import all_runs

run_id_option = click.option("--run-id", required=True, help="The run's id.")


@click.group("runs")
def runs() -> None:
    """List, describe, delete and restore runs."""


@runs.command("list")
@click.option(
    "--experiment-id",
    default=None,
    help="The experiment whose runs to list [SHIPYARD_EXPERIMENT_ID, then MLFLOW_EXPERIMENT_ID]",
)
@view_option
@tracking_uri_option
@reports_errors
def list_runs(experiment_id: str | None, view: str, tracking_uri: str | None) -> None:
    """List the runs of an experiment, newest first: date, name, id."""
    client, settings = open_client(tracking_uri)
    experiment_id = experiment_id or settings.experiment_id
    if not experiment_id:
        raise click.UsageError("Missing option '--experiment-id' (or set MLFLOW_EXPERIMENT_ID).")
    client.get_experiment(experiment_id)  # an unknown id is an error, not an empty list
    found = all_runs(client, [experiment_id], VIEWS[view.lower()])
    ordered = sorted(found, key=lambda r: (r.info.start_time or 0, r.info.run_id), reverse=True)
    rows = [[when(r.info.start_time), r.info.run_name or "", r.info.run_id] for r in ordered]
    click.echo(table(rows, ["Date", "Name", "ID"]))


@runs.command("describe")
@run_id_option
@tracking_uri_option
@reports_errors
def describe(run_id: str, tracking_uri: str | None) -> None:
    """Print the run (info, params, latest metrics, tags) as JSON."""
    client, _ = open_client(tracking_uri)
    click.echo(to_json(client.get_run(run_id).to_dict(), indent=4))


@runs.command("delete")
@run_id_option
@tracking_uri_option
@reports_errors
def delete(run_id: str, tracking_uri: str | None) -> None:
    """Mark a run deleted (`shipyard runs restore` undoes it; `shipyard gc` removes it for good)."""
    client, _ = open_client(tracking_uri)
    client.delete_run(run_id)
    click.echo(f"Run with ID {run_id} has been deleted.")


@runs.command("restore")
@run_id_option
@tracking_uri_option
@reports_errors
def restore(run_id: str, tracking_uri: str | None) -> None:
    """Restore a deleted run."""
    client, _ = open_client(tracking_uri)
    client.restore_run(run_id)
    click.echo(f"Run with id {run_id} has been restored.")


__all__ = ["runs"]
