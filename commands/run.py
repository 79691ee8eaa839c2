"""`shipyard run URI`: MLflow's `mlflow run` flags, through `shipyard.projects.run`.

It prints the run's id and where to see it, streams the command's output, and exits with the
command's exit status (130 after Ctrl-C, which ends the run KILLED).
"""

from __future__ import annotations

import signal
import sys

import click

from shipyard.commands.errors import reported_errors
from shipyard.projects.environments import ENV_MANAGERS
from shipyard.projects.launch import run as run_project
from shipyard.redact import mask_url
from shipyard.settings import cli_settings


def _pairs(values: tuple[str, ...], flag: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint=f"'{flag}'")
        pairs[name] = value
    return pairs


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _progress(line: str) -> None:
    click.echo(line, err=True)


def where_to_see(tracking_uri: str, experiment_id: str, run_id: str) -> str:
    """A URL for a tracking server, else the command that shows the run."""
    if tracking_uri.startswith(("http://", "https://")):
        return f"{mask_url(tracking_uri).rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"
    return f"shipyard runs describe --run-id {run_id} --tracking-uri {mask_url(tracking_uri)}"


@click.command("run")
@click.argument("uri")
@click.option("-e", "--entry-point", default="main", show_default=True, help="Entry point (or a .py/.sh file).")
@click.option("-v", "--version", default=None, help="Git branch, tag or commit of a git project.")
@click.option("-P", "--param-list", "params", multiple=True, metavar="NAME=VALUE", help="A parameter (repeatable).")
@click.option("-A", "--docker-args", multiple=True, metavar="NAME=VALUE", help="A `docker run` argument (repeatable).")
@click.option("--experiment-name", default=None, help="Experiment of the run (created if missing).")
@click.option("--experiment-id", default=None, help="Experiment id of the run.")
@click.option("-b", "--backend", default="local", show_default=True, help="Only 'local' is supported.")
@click.option(
    "--env-manager",
    type=click.Choice(ENV_MANAGERS),
    default=None,
    help="Where the command runs; default: what the MLproject names (python_env: uv when installed, else virtualenv).",
)
@click.option("--python-fallback", is_flag=True, help="Use the nearest Python when the asked-for one is missing.")
@click.option("--run-id", default=None, help="Resume this run instead of creating one.")
@click.option("--run-name", default=None, help="Name of the new run.")
@click.option("--build-image", is_flag=True, help="docker_env: build an image with the project copied in first.")
@click.option("--tracking-uri", default=None, help="Tracking store [SHIPYARD_TRACKING_URI, then MLFLOW_TRACKING_URI].")
def run_command(
    uri: str,
    entry_point: str,
    version: str | None,
    params: tuple[str, ...],
    docker_args: tuple[str, ...],
    experiment_name: str | None,
    experiment_id: str | None,
    backend: str,
    env_manager: str | None,
    python_fallback: bool,
    run_id: str | None,
    run_name: str | None,
    build_image: bool,
    tracking_uri: str | None,
) -> None:
    """Run an MLproject entry point (a folder or a git repository, `#subdirectory` allowed) in a
    tracked run."""
    settings = cli_settings()
    parameters = _pairs(params, "-P")
    arguments = _pairs(docker_args, "-A")
    with reported_errors():
        submitted = run_project(
            uri,
            entry_point,
            version,
            parameters,
            arguments,
            experiment_name,
            experiment_id,
            backend,
            synchronous=False,
            run_id=run_id,
            run_name=run_name,
            env_manager=env_manager,
            build_image=build_image,
            python_fallback=python_fallback,
            tracking_uri=tracking_uri,
            settings=settings,
            progress=_progress,
        )
        where = where_to_see(submitted.tracking_uri, submitted.experiment_id, submitted.run_id)
    _progress(f"Run {submitted.run_id}: see it with {where}")
    # NOTE: the command runs in its own session, so a SIGTERM to this process (a CI job stopped,
    # `kill`) would leave it running: treat it as Ctrl-C, which cancels the run.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        succeeded = submitted.wait()
    except KeyboardInterrupt:
        submitted.cancel()
        _progress(f"=== Run (ID '{submitted.run_id}') cancelled: KILLED ===")
        sys.exit(130)
    code = submitted.exit_status or 0
    if not succeeded:
        _progress(f"=== Run (ID '{submitted.run_id}') failed with exit status {code}: FAILED ===")
        sys.exit(code if code > 0 else 128 - code if code < 0 else 1)
    _progress(f"=== Run (ID '{submitted.run_id}') succeeded ===")


__all__ = ["run_command", "where_to_see"]
