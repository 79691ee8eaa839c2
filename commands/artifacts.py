"""`shipyard artifacts list|download|log-artifact|log-artifacts`: MLflow's flags and output,
through `TrackingClient` and the artifact repositories."""

from __future__ import annotations

import click

from shipyard.commands.errors import reports_errors
from shipyard.commands.output import to_json
from shipyard.commands.tracking_edge import open_client, tracking_uri_option
from shipyard.registry.uris import RUNS_SCHEME, parse_runs_uri
from shipyard.tracking.artifacts import get_artifact_repository
from shipyard.tracking.fluent_state import http_for

run_id_option = click.option("-r", "--run-id", required=True, help="The run's id.")
artifact_path_option = click.option(
    "-a", "--artifact-path", default=None, help="A path under the run's artifact root [default: the root]"
)


@click.group("artifacts")
def artifacts() -> None:
    """List, download and log a run's artifacts."""


@artifacts.command("list")
@run_id_option
@artifact_path_option
@tracking_uri_option
@reports_errors
def list_artifacts(run_id: str, artifact_path: str | None, tracking_uri: str | None) -> None:
    """The files and folders directly under the run's artifact root (or ARTIFACT_PATH), as JSON."""
    client, _ = open_client(tracking_uri)
    infos = client.list_artifacts(run_id, artifact_path)
    entries = [
        {"path": i.path, "is_dir": i.is_dir, **({} if i.file_size is None else {"file_size": i.file_size})}
        for i in infos
    ]
    click.echo(to_json(entries))


@artifacts.command("download")
@click.option("-r", "--run-id", default=None, help="The run to download from (or give --artifact-uri).")
@artifact_path_option
@click.option(
    "-u",
    "--artifact-uri",
    default=None,
    help="An artifact file or folder by URI (runs:/<id>/<path>, file:, mlflow-artifacts:, a path), instead of --run-id",
)
@click.option(
    "-d", "--dst-path", default=None, help="Local folder to download into (created) [default: a new temporary folder]"
)
@tracking_uri_option
@reports_errors
def download(
    run_id: str | None,
    artifact_path: str | None,
    artifact_uri: str | None,
    dst_path: str | None,
    tracking_uri: str | None,
) -> None:
    """Download an artifact file or folder; print where it now is locally."""
    if (run_id is None) == (artifact_uri is None):
        raise click.UsageError("give exactly one of --run-id and --artifact-uri")
    if artifact_uri is not None and artifact_path is not None:
        raise click.UsageError("--artifact-path goes with --run-id; put the path into --artifact-uri instead")
    client, settings = open_client(tracking_uri)
    if artifact_uri is not None and artifact_uri.startswith(f"{RUNS_SCHEME}:"):
        run_id, artifact_path = parse_runs_uri(artifact_uri)
    if run_id is not None:
        local = client.download_artifacts(run_id, artifact_path or "", dst_path)
    else:
        assert artifact_uri is not None
        root, _, name = artifact_uri.rstrip("/").rpartition("/")
        repo = get_artifact_repository(root, http_for(settings), tracking_uri=client.tracking_uri)
        local = repo.download_artifacts(name, dst_path)
    click.echo(local)


@artifacts.command("log-artifact")
@click.option(
    "-l", "--local-file", required=True, type=click.Path(exists=True, dir_okay=False), help="The file to log."
)
@run_id_option
@artifact_path_option
@tracking_uri_option
@reports_errors
def log_artifact(local_file: str, run_id: str, artifact_path: str | None, tracking_uri: str | None) -> None:
    """Log a local file as an artifact of the run (under ARTIFACT_PATH when given)."""
    client, _ = open_client(tracking_uri)
    client.log_artifact(run_id, local_file, artifact_path)
    click.echo(f"Logged artifact from local file {local_file} to artifact_path={artifact_path}")


@artifacts.command("log-artifacts")
@click.option(
    "-l", "--local-dir", required=True, type=click.Path(exists=True, file_okay=False), help="The folder to log."
)
@run_id_option
@artifact_path_option
@tracking_uri_option
@reports_errors
def log_artifacts(local_dir: str, run_id: str, artifact_path: str | None, tracking_uri: str | None) -> None:
    """Log the files of a local folder as artifacts of the run (under ARTIFACT_PATH when given)."""
    client, _ = open_client(tracking_uri)
    client.log_artifacts(run_id, local_dir, artifact_path)
    click.echo(f"Logged artifact from local dir {local_dir} to artifact_path={artifact_path}")


__all__ = ["artifacts"]
