"""Build a context with a Docker engine through docker-py, streaming the daemon's progress.

NOTE: docker-py talks to the classic builder (no BuildKit), which pulls a missing `FROM` image on
its own. So the base image is looked up first and a missing one is an error unless `pull=True`:
a build never reaches a registry unless asked.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.exceptions import EngineUnavailable, InvalidInput, ShipyardError

# NOTE: docker-py (and requests under it) is imported inside the functions that talk to an
# engine: every `shipyard` command imports this package through the CLI, and `serve` is PID 1 of
# each container, where docker-py would only cost start-up time.
if TYPE_CHECKING:
    import docker

Log = Callable[[str], None]
DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"


def _nolog(_: str) -> None:
    pass


@dataclass(frozen=True)
class BuiltImage:
    """What a build produced: the id, the tag, its size on disk and how long it took."""

    id: str
    tag: str
    size_bytes: int
    seconds: float


def connect(environment: Mapping[str, str], *, timeout: int = 600) -> docker.DockerClient:
    """A client that has answered a ping, or `EngineUnavailable` saying what to do instead.

    `environment` is the process environment, read at the edge: DOCKER_HOST, DOCKER_TLS_VERIFY
    and DOCKER_CERT_PATH choose the engine, as for the docker CLI.
    """
    host = environment.get("DOCKER_HOST")
    where = host or f"the default socket {DEFAULT_DOCKER_HOST}"

    def unavailable(reason: str) -> EngineUnavailable:
        return EngineUnavailable(
            f"no Docker engine answers at {where} (DOCKER_HOST is {'set' if host else 'unset'}; "
            f"{reason}). Start one (dockerd) or point DOCKER_HOST at one that answers; or write "
            "the build context with `shipyard generate-dockerfile -m URI -d DIR` and build it "
            "with your own tools."
        )

    import docker
    import requests.exceptions

    socket_path = (host or DEFAULT_DOCKER_HOST).removeprefix("unix://")
    if (host or DEFAULT_DOCKER_HOST).startswith("unix://") and not Path(socket_path).exists():
        # NOTE: checked first because docker-py leaks the socket of a failed unix connect.
        raise unavailable(f"{socket_path} does not exist")
    client: docker.DockerClient | None = None
    try:
        client = docker.from_env(environment=dict(environment), timeout=timeout)
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        if client is not None:
            client.close()
        raise unavailable(type(exc).__name__) from exc
    return client


def require_base_image(client: docker.DockerClient, image: str, *, pull: bool, log: Log) -> None:
    """Make sure `image` is present locally; pull it only when asked."""
    import docker.errors

    try:
        client.images.get(image)
        return
    except docker.errors.ImageNotFound:
        pass
    if not pull:
        raise InvalidInput(
            f"base image {image!r} is not present in the Docker engine and pulling is off; "
            "build or load it first (README: Docker images), pass --base-image with a local "
            "image, or pass --pull"
        )
    log(f"pulling {image}")
    try:
        client.images.pull(image)
    except docker.errors.APIError as exc:
        raise ShipyardError(f"pulling base image {image!r} failed: {exc.explanation}") from exc


def _progress(chunk: Mapping[str, Any], log: Log) -> str | None:
    """Print one decoded build message; return the image id when the daemon announces it."""
    if "error" in chunk:
        detail = chunk.get("errorDetail") or {}
        raise ShipyardError(f"docker build failed: {detail.get('message') or chunk['error']}".rstrip())
    if "stream" in chunk:
        text = str(chunk["stream"]).rstrip("\n")
        if text.strip():
            log(text)
    elif "status" in chunk:
        log(str(chunk["status"]))
    aux = chunk.get("aux")
    if isinstance(aux, dict) and "ID" in aux:
        return str(aux["ID"])
    return None


def build_image(
    client: docker.DockerClient,
    context_dir: Path,
    tag: str,
    *,
    base_image: str,
    build_args: Mapping[str, str] | None = None,
    pull: bool = False,
    network_mode: str | None = None,
    log: Log = _nolog,
) -> BuiltImage:
    """Build `context_dir` (holding a Dockerfile) as `tag`; progress lines go to `log`."""
    import docker.errors
    import requests.exceptions

    require_base_image(client, base_image, pull=pull, log=log)
    start = time.perf_counter()
    image_id: str | None = None
    try:
        # NOTE: forcerm removes the intermediate container of a failed step too; pull=False keeps
        # the daemon from refreshing FROM images behind our back.
        stream = client.api.build(
            path=str(context_dir),
            tag=tag,
            rm=True,
            forcerm=True,
            pull=pull,
            decode=True,
            buildargs=dict(build_args or {}),
            network_mode=network_mode,
        )
        for chunk in stream:
            image_id = _progress(chunk, log) or image_id
    except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
        raise ShipyardError(f"docker build of {tag!r} failed: {exc}") from exc
    seconds = time.perf_counter() - start
    image = client.images.get(image_id or tag)
    if image.id is None:  # docker-py reads it from the engine's answer, which always has one
        raise ShipyardError(f"docker built {tag!r} but the engine reports no image id for it")
    return BuiltImage(id=image.id, tag=tag, size_bytes=int(image.attrs["Size"]), seconds=seconds)


def human_size(n: int) -> str:
    """Decimal units, as `docker images` prints them."""
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


__all__ = ["BuiltImage", "build_image", "connect", "human_size", "require_base_image"]
