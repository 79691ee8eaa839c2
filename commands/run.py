"""`shipyard run URI`: MLflow's `mlflow run` flags, through `shipyard.projects.run`.

It prints the run's id and where to see it, streams the command's output (kept as the run's
`project.log` unless `--no-capture`), and exits with the command's exit status (130 after Ctrl-C,
which ends the run KILLED).
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

import click

from shipyard.commands.errors import reported_errors
from shipyard.projects.environments import ENV_MANAGERS
from shipyard.projects.launch import check_backend, prepare_run, submit
from shipyard.projects.submitted import SubmittedRun
from shipyard.redact import mask_url
from shipyard.settings import cli_settings
from shipyard.tracking.entities import RunStatus


def _pairs(values: tuple[str, ...], flag: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint=f"'{flag}'")
        pairs[name] = value
    return pairs


class _Stop:
    """The SIGINT/SIGTERM handler: Ctrl-C (KeyboardInterrupt) while the environment is built;
    once `deferring`, only a request that `_wait` acts on."""

    def __init__(self) -> None:
        self.deferring = False
        self.requested = threading.Event()

    def __call__(self, signum: int, frame: object) -> None:
        self.requested.set()
        if not self.deferring:
            raise KeyboardInterrupt


def _wait(submitted: SubmittedRun, stop: _Stop) -> bool | None:
    """The command's outcome (True: it succeeded), or None once a signal cancelled it (KILLED).
    The waiting is done in a thread: the main thread only watches for the request."""
    outcome: list[bool] = []
    failure: list[BaseException] = []

    def waiter() -> None:
        try:
            outcome.append(submitted.wait())
        except BaseException as exc:  # handed to the main thread, which reports it
            failure.append(exc)
        finally:
            stop.requested.set()  # wakes the main thread either way

    thread = threading.Thread(target=waiter, daemon=True)
    thread.start()
    stop.requested.wait()
    if not outcome and not failure:  # the signal came first
        submitted.cancel()
    thread.join()
    if failure:
        raise failure[0]
    return None if submitted.get_status() == RunStatus.KILLED else outcome[0]


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
@click.option(
    "--no-capture",
    is_flag=True,
    help="Leave the command on this terminal (for interactive or tty programs); keep no project.log.",
)
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
    no_capture: bool,
    tracking_uri: str | None,
) -> None:
    """Run an MLproject entry point (a folder or a git repository, `#subdirectory` allowed) in a
    tracked run."""
    settings = cli_settings()
    parameters = _pairs(params, "-P")
    arguments = _pairs(docker_args, "-A")
    # NOTE: the command runs in its own session, so a SIGTERM to this process (a CI job stopped,
    # `kill`) would leave it running: it is treated as Ctrl-C. While the run is created and the
    # command started, a signal only asks (`_Stop`): acted on at once, it could leave the run
    # RUNNING or the command without its reader, or break off a store write half-way.
    stop = _Stop()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    cwd = Path.cwd()
    try:
        with reported_errors():
            check_backend(backend)
            prepared = prepare_run(
                uri, entry_point, version, parameters, env_manager, settings, cwd, _progress, python_fallback
            )
    except KeyboardInterrupt:  # nothing was created yet; a half-built environment is never reused
        _progress("=== Interrupted before the run was created ===")
        sys.exit(130)
    stop.deferring = True
    with reported_errors():
        submitted = submit(
            prepared,
            settings,
            cwd,
            _progress,
            docker_args=arguments,
            build_image=build_image,
            experiment_name=experiment_name,
            experiment_id=experiment_id,
            run_name=run_name,
            run_id=run_id,
            capture_output=not no_capture,
            tracking_uri=tracking_uri,
        )
        _progress(f"=== Run (ID '{submitted.run_id}') started: {prepared.command} ===")
        where = where_to_see(submitted.tracking_uri, submitted.experiment_id, submitted.run_id)
        _progress(f"Run {submitted.run_id}: see it with {where}")
        succeeded = _wait(submitted, stop)
    if succeeded is None:
        _progress(f"=== Run (ID '{submitted.run_id}') cancelled: KILLED ===")
        sys.exit(130)
    code = submitted.exit_status or 0
    if not succeeded:
        _progress(f"=== Run (ID '{submitted.run_id}') failed with exit status {code}: FAILED ===")
        sys.exit(code if code > 0 else 128 - code if code < 0 else 1)
    _progress(f"=== Run (ID '{submitted.run_id}') succeeded ===")


__all__ = ["run_command", "where_to_see"]
