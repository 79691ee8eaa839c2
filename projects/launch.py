"""`shipyard.projects.run` (also `shipyard.run`, `shipyard run`): check everything, create the run,
start the entry point's command in its environment, hand back a `SubmittedRun`.

Order matters: the source, the MLproject, the parameters and the environment are all checked
(and the environment built) before the run is created, so a bad call leaves no run RUNNING; the
run exists before the command starts, and the command's process gets the run's id, store and
experiment as `SHIPYARD_*` and `MLFLOW_*` variables, so `start_run()` in the training script
(with `import shipyard` or `import mlflow`) joins this run instead of creating another.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.exceptions import InvalidInput
from shipyard.mlflow_names import refuses
from shipyard.projects.env_cache import EnvCache, Progress
from shipyard.projects.environments import Environment, choose_manager, prepare
from shipyard.projects.output_capture import UNBUFFERED, OutputCapture
from shipyard.projects.params import render_command, resolve_parameters
from shipyard.projects.sources import Source, fetch
from shipyard.projects.spec import Project, load_project
from shipyard.projects.submitted import ExecutionError, ProcessHandle, SubmittedRun
from shipyard.settings import Settings
from shipyard.tracking import system_tags
from shipyard.tracking.client import TrackingClient
from shipyard.tracking.entities import Param, RunStatus, RunTag
from shipyard.tracking.fluent_state import default_experiment_id, process_settings, resolve_tracking_uri

ENTRY_POINT_TAG = "mlflow.project.entryPoint"
ENV_TAG = "mlflow.project.env"
BACKEND_TAG = "mlflow.project.backend"
COMMAND_TAG = "shipyard.project.command"
PYTHON_FALLBACK_TAG = "shipyard.project.pythonFallback"

RUN_VARIABLES = ("RUN_ID", "TRACKING_URI", "EXPERIMENT_ID")
"""What the command's process is told, each as `SHIPYARD_<X>` and `MLFLOW_<X>`."""
DROPPED_VARIABLES = ("SHIPYARD_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_NAME")
"""Removed from the command's environment: the run's experiment id is the one answer there."""


@dataclass(frozen=True)
class Prepared:
    """Everything checked, before a run exists."""

    source: Source
    project: Project
    entry_point: str
    params: dict[str, str]
    command: str
    environment: Environment


def env_root(settings: Settings) -> Path:
    """Where environments are cached: `SHIPYARD_ENV_ROOT`, else `envs` in the cache dir."""
    return settings.env_root or settings.cache_dir / "envs"


def _absolute_store_uri(uri: str, cwd: Path) -> str:
    """A relative sqlite path made absolute: the command runs in the project's folder."""
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri[len(prefix) :].startswith("/") and uri != prefix:
        return prefix + str((cwd / uri[len(prefix) :]).resolve())
    return uri


def _experiment(client: TrackingClient, name: str | None, experiment_id: str | None) -> str:
    """The run's experiment: by id, by name (created when missing, as MLflow does), else the
    fluent default (`set_experiment`, then the `*_EXPERIMENT_NAME`/`*_EXPERIMENT_ID` variables)."""
    if name is not None and experiment_id is not None:
        raise InvalidInput("give experiment_name or experiment_id, not both")
    if experiment_id is not None:
        return client.get_experiment(str(experiment_id)).experiment_id
    if name is not None:
        found = client.get_experiment_by_name(name)
        return found.experiment_id if found is not None else client.create_experiment(name)
    return default_experiment_id(client.store)


def prepare_run(
    uri: str,
    entry_point: str,
    version: str | None,
    parameters: Mapping[str, Any] | None,
    env_manager: str | None,
    settings: Settings,
    cwd: Path,
    progress: Progress,
    python_fallback: bool = False,
) -> Prepared:
    """Check the source, the MLproject, the parameters, and build (or reuse) the environment."""
    source = fetch(uri, version, cwd)
    try:
        project = load_project(source.directory)
        entry = project.entry_point(entry_point)
        given = {str(k): str(v) for k, v in (parameters or {}).items()}
        values, extra = resolve_parameters(entry.parameters, given, cwd, project.directory)
        command = render_command(entry.command, values, extra)
        manager = choose_manager(project, env_manager)
        environment = prepare(project, manager, EnvCache(env_root(settings)), progress, python_fallback)
    except BaseException:
        source.remove_clone()
        raise
    return Prepared(source, project, entry_point, {**values, **extra}, command, environment)


def _tags(prepared: Prepared) -> dict[str, str]:
    tags = {
        system_tags.SOURCE_TYPE: "PROJECT",
        system_tags.SOURCE_NAME: prepared.source.uri,
        ENTRY_POINT_TAG: prepared.entry_point,
        ENV_TAG: prepared.environment.manager,
        BACKEND_TAG: "local",
        COMMAND_TAG: prepared.command,
    }
    with contextlib.suppress(KeyError, OSError):  # no user name in a bare container
        tags[system_tags.USER] = getpass.getuser()
    if prepared.source.git_commit:
        tags[system_tags.SOURCE_GIT_COMMIT] = prepared.source.git_commit
    if prepared.source.git_repo_url:
        tags[system_tags.SOURCE_GIT_REPO_URL] = prepared.source.git_repo_url
    if prepared.environment.python_fallback:
        tags[PYTHON_FALLBACK_TAG] = prepared.environment.python_fallback
    return tags


def start_run_for(
    prepared: Prepared,
    client: TrackingClient,
    experiment_id: str,
    run_name: str | None,
    run_id: str | None,
) -> str:
    """The project's run, created (or, with `run_id`, resumed) with its params and tags."""
    tags = _tags(prepared)
    if run_id is not None:
        client.get_run(run_id)
        client.update_run(run_id, RunStatus.RUNNING, run_name)
    else:
        run_id = client.create_run(experiment_id, tags=tags, run_name=run_name).info.run_id
        tags = {}
    params = [Param(k, v) for k, v in prepared.params.items()]
    client.log_batch(run_id, params=params, tags=[RunTag(k, v) for k, v in tags.items()])
    return run_id


def command_environment(
    base: Mapping[str, str], environment: Environment, run_id: str, tracking_uri: str, experiment_id: str
) -> dict[str, str]:
    """The command's variables: `base`, the environment's PATH, and the run's ids and store."""
    env = {k: v for k, v in environment.child_env(base).items() if k not in DROPPED_VARIABLES}
    for name, value in zip(RUN_VARIABLES, (run_id, tracking_uri, experiment_id), strict=True):
        env[f"SHIPYARD_{name}"] = env[f"MLFLOW_{name}"] = value
    return env


def _abandon(
    prepared: Prepared, client: TrackingClient, run_id: str, output: OutputCapture | None, error: BaseException
) -> None:
    """The command could not start (or was interrupted while starting): the run ends FAILED
    (KILLED for an interrupt), nothing is kept or left behind."""
    if output is not None:
        output.discard()
    client.set_terminated(run_id, RunStatus.KILLED if isinstance(error, KeyboardInterrupt) else RunStatus.FAILED)
    prepared.source.remove_clone()


def launch(
    prepared: Prepared,
    client: TrackingClient,
    experiment_id: str,
    run_id: str,
    base_env: Mapping[str, str],
    argv: Sequence[str] | None = None,
    output: OutputCapture | None = None,
) -> SubmittedRun:
    """Start the command (`bash -c COMMAND` in the project's folder, its own process group);
    with `output`, its stdout and stderr are pipes that `output` shows and keeps, else they are
    this process's own (a terminal stays a terminal for the command)."""
    env = command_environment(base_env, prepared.environment, run_id, client.tracking_uri, experiment_id)
    if output is not None:
        env = UNBUFFERED | env
    pipe = subprocess.PIPE if output is not None else None
    process: subprocess.Popen[bytes] | None = None
    try:
        process = subprocess.Popen(
            list(argv) if argv is not None else ["bash", "-c", prepared.command],
            cwd=prepared.project.directory,
            env=env,
            start_new_session=True,
            stdout=pipe,
            stderr=pipe,
        )
        if output is not None:
            assert process.stdout is not None and process.stderr is not None
            output.follow(process.stdout, process.stderr)
        return SubmittedRun(run_id, ProcessHandle(process), client, prepared.source.remove_clone, output)
    except BaseException as exc:  # an interrupt too: nothing is left running, no run RUNNING
        if process is None:
            _abandon(prepared, client, run_id, output, exc)
            if isinstance(exc, OSError):
                raise InvalidInput(f"could not start the command {prepared.command!r}: {exc}") from None
            raise
        # Interrupted just after the start: stopped as cancel() would (KILLED, output kept).
        if output is not None and process.stdout is not None and process.stderr is not None:
            output.follow(process.stdout, process.stderr)
        SubmittedRun(run_id, ProcessHandle(process), client, prepared.source.remove_clone, output).cancel()
        raise


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def check_backend(backend: str) -> None:
    """Only `local`: checked before anything is built."""
    if backend != "local":
        raise InvalidInput(f"backend {backend!r} is not supported; Shipyard runs projects locally (backend='local')")


def submit(
    prepared: Prepared,
    settings: Settings,
    cwd: Path,
    say: Progress,
    *,
    docker_args: Mapping[str, Any] | None,
    build_image: bool,
    experiment_name: str | None,
    experiment_id: str | None,
    run_name: str | None,
    run_id: str | None,
    capture_output: bool,
    tracking_uri: str | None,
) -> SubmittedRun:
    """Create (or resume) the run and start the command: the step after `prepare_run`, which
    `shipyard run` keeps apart so that a signal is never acted on in the middle of it."""
    try:
        if prepared.environment.manager != "docker" and (docker_args or build_image):
            raise InvalidInput("docker_args and build_image apply only to a project with a docker_env")
        store_uri = _absolute_store_uri(resolve_tracking_uri(tracking_uri, settings), cwd)
        client = TrackingClient(store_uri, settings=settings)
        experiment = _experiment(client, experiment_name, experiment_id)
        started_id = start_run_for(prepared, client, experiment, run_name, run_id)
    except BaseException:
        prepared.source.remove_clone()
        raise
    # NOTE: the command's variables start from this process's own: this function is an edge.
    base_env = dict(os.environ)
    output = OutputCapture(client, started_id, say) if capture_output else None
    if prepared.environment.manager == "docker":
        try:  # NOTE: imported here, not at the top: docker-py, which other runs never need
            from shipyard.projects.docker_env import docker_launch
        except BaseException as exc:
            _abandon(prepared, client, started_id, output, exc)
            raise
        return docker_launch(prepared, client, experiment, started_id, base_env, docker_args, build_image, say, output)
    return launch(prepared, client, experiment, started_id, base_env, output=output)


@refuses("backend_config", "storage_dir", "docker_auth")
def run(
    uri: str | os.PathLike[str],
    entry_point: str = "main",
    version: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    docker_args: Mapping[str, Any] | None = None,
    experiment_name: str | None = None,
    experiment_id: str | None = None,
    backend: str = "local",
    backend_config: Any = None,
    storage_dir: str | None = None,
    synchronous: bool = True,
    run_id: str | None = None,
    run_name: str | None = None,
    env_manager: str | None = None,
    build_image: bool = False,
    docker_auth: Any = None,
    *,
    python_fallback: bool = False,
    capture_output: bool = True,
    tracking_uri: str | None = None,
    settings: Settings | None = None,
    progress: Callable[[str], None] | None = None,
) -> SubmittedRun:
    """Run an MLproject entry point (MLflow's `mlflow.projects.run`), returning its `SubmittedRun`.

    `synchronous` waits for the command and raises `ExecutionError` (with the command's exit
    status) when it fails; Ctrl-C while waiting cancels it (the run ends KILLED). `settings`
    None means the process's (this is an edge, like `start_run`); `progress` receives the
    environment's build output and the run's id (default: stderr). `capture_output` (default)
    shows the command's output and keeps it as the run's `project.log` artifact; False leaves
    the command on this process's stdout and stderr (a tty stays a tty) and keeps nothing."""
    uri = os.fspath(uri)
    check_backend(backend)
    settings = settings if settings is not None else process_settings()
    say = progress or _stderr
    cwd = Path.cwd()
    prepared = prepare_run(uri, entry_point, version, parameters, env_manager, settings, cwd, say, python_fallback)
    submitted = submit(
        prepared,
        settings,
        cwd,
        say,
        docker_args=docker_args,
        build_image=build_image,
        experiment_name=experiment_name,
        experiment_id=experiment_id,
        run_name=run_name,
        run_id=run_id,
        capture_output=capture_output,
        tracking_uri=tracking_uri,
    )
    started_id = submitted.run_id
    try:
        say(f"=== Run (ID '{started_id}') started: {prepared.command} ===")
        if not synchronous:
            return submitted
        succeeded = submitted.wait()
    except KeyboardInterrupt:  # NOTE: from here on an interrupt must not leave the command running
        submitted.cancel()
        say(f"=== Run (ID '{started_id}') cancelled: KILLED ===")
        raise
    if not succeeded:
        code = submitted.exit_status
        raise ExecutionError(
            f"Run (ID '{started_id}') failed: the command exited with status {code}",
            run_id=started_id,
            exit_status=code if code is not None and code > 0 else 1,
        )
    say(f"=== Run (ID '{started_id}') succeeded ===")
    return submitted


__all__ = [
    "BACKEND_TAG",
    "COMMAND_TAG",
    "ENTRY_POINT_TAG",
    "ENV_TAG",
    "PYTHON_FALLBACK_TAG",
    "Prepared",
    "check_backend",
    "command_environment",
    "env_root",
    "launch",
    "prepare_run",
    "run",
    "start_run_for",
    "submit",
]
