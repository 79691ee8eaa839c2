"""`shipyard experiments create|search|rename|delete|restore|csv`: MLflow's flags and output,
through `TrackingClient`."""

from __future__ import annotations

from pathlib import Path

import click

from shipyard.commands.errors import reports_errors
from shipyard.commands.output import table
from shipyard.commands.tracking_edge import VIEWS, open_client, tracking_uri_option, view_option
from shipyard.tracking.entities import ViewType
from shipyard.tracking.fluent_search import all_experiments, all_runs
from shipyard.tracking.runs_frame import runs_to_frame

experiment_id_option = click.option("-x", "--experiment-id", required=True, help="The experiment's id.")


@click.group("experiments")
def experiments() -> None:
    """Create, list, rename, delete and restore experiments; export their runs as CSV."""


@experiments.command("create")
@click.option("-n", "--experiment-name", required=True, help="Name of the new experiment.")
@click.option(
    "-l",
    "--artifact-location",
    default=None,
    help="Base location of the runs' artifacts ($artifact_location/$run_id/artifacts) [default: the store's]",
)
@tracking_uri_option
@reports_errors
def create(experiment_name: str, artifact_location: str | None, tracking_uri: str | None) -> None:
    """Create an experiment."""
    client, _ = open_client(tracking_uri)
    experiment_id = client.create_experiment(experiment_name, artifact_location)
    click.echo(f"Created experiment '{experiment_name}' with id {experiment_id}")


@experiments.command("search")
@view_option
@click.option("--max-results", type=click.IntRange(min=1), default=None, help="Most experiments to list [default: all]")
@tracking_uri_option
@reports_errors
def search(view: str, max_results: int | None, tracking_uri: str | None) -> None:
    """List experiments: id, name, artifact location."""
    client, _ = open_client(tracking_uri)
    found = all_experiments(client, VIEWS[view.lower()], max_results)
    rows = [[e.experiment_id, e.name, e.artifact_location] for e in found]
    click.echo(table(sorted(rows), ["Experiment Id", "Name", "Artifact Location"]))


@experiments.command("rename")
@experiment_id_option
@click.option("--new-name", required=True, help="The experiment's new name.")
@tracking_uri_option
@reports_errors
def rename(experiment_id: str, new_name: str, tracking_uri: str | None) -> None:
    """Rename an active experiment."""
    client, _ = open_client(tracking_uri)
    client.rename_experiment(experiment_id, new_name)
    click.echo(f"Experiment with id {experiment_id} has been renamed to '{new_name}'.")


@experiments.command("delete")
@experiment_id_option
@tracking_uri_option
@reports_errors
def delete(experiment_id: str, tracking_uri: str | None) -> None:
    """Mark an experiment and its runs deleted (`shipyard gc` removes them for good)."""
    client, _ = open_client(tracking_uri)
    client.delete_experiment(experiment_id)
    click.echo(f"Experiment with ID {experiment_id} has been deleted.")


@experiments.command("restore")
@experiment_id_option
@tracking_uri_option
@reports_errors
def restore(experiment_id: str, tracking_uri: str | None) -> None:
    """Restore a deleted experiment."""
    client, _ = open_client(tracking_uri)
    client.restore_experiment(experiment_id)
    click.echo(f"Experiment with id {experiment_id} has been restored.")


@experiments.command("csv")
@experiment_id_option
@click.option("-o", "--filename", type=click.Path(dir_okay=False), default=None, help="CSV file [default: stdout]")
@tracking_uri_option
@reports_errors
def csv(experiment_id: str, filename: str | None, tracking_uri: str | None) -> None:
    """Write the experiment's runs as CSV (the columns of `search_runs`)."""
    client, _ = open_client(tracking_uri)
    client.get_experiment(experiment_id)  # an unknown id is an error, not an empty file
    frame = runs_to_frame(all_runs(client, [experiment_id], ViewType.ACTIVE_ONLY))
    if filename is None:
        click.echo(frame.to_csv(index=False), nl=False)
        return
    Path(filename).write_text(frame.to_csv(index=False))
    click.echo(f"Experiment with ID {experiment_id} has been exported as a CSV to file: {filename}.")


__all__ = ["experiments"]
