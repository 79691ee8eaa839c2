"""`docker_env` projects: the entry point's command in a container of the MLproject's image,
through docker-py, never pulling (a missing image is an error that says so).

The project folder is mounted at MLflow's path `/mlflow/projects/code` (or, with `build_image`,
copied into a new image built on the named one). The container gets the run's variables, the
MLproject's `volumes` and `environment` (a name alone copies the host's value), and the tracking
store: an `http(s)` server is reached as is (on the host's network when it is a loopback
address), a sqlite file's folder is mounted at the same path, so the URI means the same inside.
"""

from __future__ import annotations

import codecs
import contextlib
import re
import shutil
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from shipyard.exceptions import InvalidInput
from shipyard.images.build import build_image, connect, require_base_image
from shipyard.projects.env_cache import Progress
from shipyard.projects.launch import RUN_VARIABLES, Prepared
from shipyard.projects.output_capture import UNBUFFERED, OutputCapture, Stream, echo
from shipyard.projects.submitted import STOP_GRACE_S, SubmittedRun
from shipyard.tracking.client import TrackingClient
from shipyard.tracking.entities import RunStatus

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container

CODE_DIR = "/mlflow/projects/code"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
DOCKER_ARGS = ("cpus", "gpus", "memory", "network", "shm-size", "user")
"""The `-A NAME=VALUE` arguments understood (each a `docker run --NAME VALUE` flag)."""


class ContainerHandle:
    """A started container: its output (stdout and stderr, as docker's log merges them) streamed
    to stdout, and kept by `output` when given; removed once it has ended."""

    def __init__(self, container: Container, output: OutputCapture | None = None) -> None:
        self.container = container
        self._output = output
        self._code: int | None = None
        self._lock = threading.Lock()
        self._logs = threading.Thread(target=self._stream, daemon=True)
        self._logs.start()

    def _stream(self) -> None:
        stream: Stream = "stdout"
        decoders: dict[Stream, codecs.IncrementalDecoder] = {}
        with contextlib.suppress(Exception):  # the container is gone: nothing more to show
            for chunk in self.container.logs(stream=True, follow=True):
                if self._output is not None:
                    self._output.write(chunk, stream)
                else:
                    echo(chunk, stream, decoders)

    def _finish(self, code: int) -> int:
        with self._lock:
            if self._code is None:
                self._logs.join(timeout=5)
                with contextlib.suppress(Exception):
                    self.container.remove(force=True)
                self._code = code
            return self._code

    def poll(self) -> int | None:
        if self._code is not None:
            return self._code
        self.container.reload()
        if self.container.status in ("exited", "dead"):
            return self._finish(int(self.container.attrs["State"]["ExitCode"]))
        return None

    def wait(self) -> int:
        if self._code is not None:
            return self._code
        return self._finish(int(self.container.wait()["StatusCode"]))

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after `STOP_GRACE_S` (docker's stop)."""
        with contextlib.suppress(Exception):
            self.container.stop(timeout=int(STOP_GRACE_S))


def _run_options(docker_args: Mapping[str, Any] | None) -> dict[str, Any]:
    """docker-py `containers.run` keywords for the `-A` arguments."""
    import docker.types

    options: dict[str, Any] = {}
    for name, value in (docker_args or {}).items():
        text = str(value)
        if name == "network":
            options["network_mode"] = text
        elif name == "user":
            options["user"] = text
        elif name == "shm-size":
            options["shm_size"] = text
        elif name == "memory":
            options["mem_limit"] = text
        elif name == "cpus":
            try:
                options["nano_cpus"] = int(float(text) * 1e9)
            except ValueError:
                raise InvalidInput(f"docker_args cpus {text!r} is not a number") from None
        elif name == "gpus":
            count = -1 if text == "all" else int(text) if text.isdigit() else None
            if count is None:
                raise InvalidInput(f"docker_args gpus {text!r}: expected 'all' or a number")
            options["device_requests"] = [docker.types.DeviceRequest(count=count, capabilities=[["gpu"]])]
        else:
            raise InvalidInput(f"docker_args {name!r} is not supported; expected one of {', '.join(DOCKER_ARGS)}")
    return options


def _store_access(tracking_uri: str) -> tuple[dict[str, dict[str, str]], str | None]:
    """(volumes, network mode) that let the container reach the tracking store."""
    if tracking_uri.startswith("sqlite:///"):
        folder = str(Path(tracking_uri.removeprefix("sqlite:///")).parent)
        folder = folder if folder.startswith("/") else "/" + folder
        return {folder: {"bind": folder, "mode": "rw"}}, None
    if tracking_uri.startswith(("http://", "https://")) and urlsplit(tracking_uri).hostname in LOOPBACK:
        return {}, "host"
    return {}, None


def _volumes(specs: tuple[str, ...]) -> dict[str, dict[str, str]]:
    volumes: dict[str, dict[str, str]] = {}
    for spec in specs:
        parts = spec.split(":")
        if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
            raise InvalidInput(f"docker_env volume {spec!r} is not 'host:container' or 'host:container:mode'")
        volumes[str(Path(parts[0]).expanduser().resolve())] = {
            "bind": parts[1],
            "mode": parts[2] if len(parts) == 3 else "rw",
        }
    return volumes


def _environment(variables: tuple[str | tuple[str, str], ...], host: Mapping[str, str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in variables:
        if isinstance(item, tuple):
            env[item[0]] = item[1]
        elif item in host:
            env[item] = host[item]
        else:
            raise InvalidInput(f"docker_env environment names {item!r}, which is not set on this machine")
    return env


def _built_image(client: docker.DockerClient, prepared: Prepared, base: str, progress: Progress) -> str:
    """An image of `base` with the project copied to `CODE_DIR` (`--build-image`)."""
    name = re.sub(r"[^a-z0-9_.-]+", "-", (prepared.project.name or prepared.project.directory.name).lower()).strip("-.")
    tag = f"shipyard-project-{name or 'project'}:latest"
    with tempfile.TemporaryDirectory(prefix="shipyard-project-image-") as tmp:
        context = Path(tmp) / "context"
        shutil.copytree(prepared.project.directory, context, ignore=shutil.ignore_patterns(".git"))
        (context / "Dockerfile").write_text(f"FROM {base}\nCOPY . {CODE_DIR}/\nWORKDIR {CODE_DIR}\n")
        progress(f"Building image {tag} from {base} with the project in {CODE_DIR}")
        build_image(client, context, tag, base_image=base, log=progress)
    return tag


def docker_launch(
    prepared: Prepared,
    client: TrackingClient,
    experiment_id: str,
    run_id: str,
    base_env: Mapping[str, str],
    docker_args: Mapping[str, Any] | None,
    build: bool,
    progress: Progress,
    output: OutputCapture | None = None,
) -> SubmittedRun:
    """Start the entry point in a container; on any failure to start, the run ends FAILED.
    `output` keeps what the container prints (uploaded when the run ends)."""
    spec = prepared.project.docker_env
    assert spec is not None
    engine = None
    try:
        options = _run_options(docker_args)
        variables = _environment(spec.environment, base_env)
        if output is not None:
            variables = UNBUFFERED | variables
        volumes, network = _store_access(client.tracking_uri)
        volumes |= _volumes(spec.volumes)
        engine = connect(base_env)
        image = spec.image
        if build:
            image = _built_image(engine, prepared, spec.image, progress)
        else:
            require_base_image(engine, image, pull=False, log=progress)
            volumes[str(prepared.project.directory)] = {"bind": CODE_DIR, "mode": "rw"}
        for name, value in zip(RUN_VARIABLES, (run_id, client.tracking_uri, experiment_id), strict=True):
            variables[f"SHIPYARD_{name}"] = variables[f"MLFLOW_{name}"] = value
        if network is not None:
            options.setdefault("network_mode", network)
        container = engine.containers.run(
            image,
            ["sh", "-c", prepared.command],
            detach=True,
            init=True,  # docker-init as PID 1: a SIGTERM reaches the command, zombies are reaped
            working_dir=CODE_DIR,
            environment=variables,
            volumes=volumes,
            **options,
        )
    except BaseException:
        if output is not None:
            output.discard()
        client.set_terminated(run_id, RunStatus.FAILED)
        prepared.source.remove_clone()
        if engine is not None:
            engine.close()
        raise
    progress(f"Container {container.short_id} of image {image} started")

    def ended() -> None:
        prepared.source.remove_clone()
        engine.close()

    return SubmittedRun(run_id, ContainerHandle(container, output), client, ended, output)


__all__ = ["CODE_DIR", "DOCKER_ARGS", "ContainerHandle", "docker_launch"]
