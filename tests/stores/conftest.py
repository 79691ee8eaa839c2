"""Real object-store servers for the store tests: moto's standalone S3 server and Azurite.

CI (.ci/run) starts both once and exports `SHIPYARD_TEST_S3_ENDPOINT_URL` and
`SHIPYARD_TEST_AZURITE_CONNECTION_STRING`; without them each session starts its own on a free
loopback port (moto from the venv, Azurite from PATH or an npm install into
`~/.cache/shipyard-test/azurite`). A server that cannot start fails the tests; nothing is skipped.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest
from azure.storage.blob import BlobServiceClient

from shipyard.tracking.artifacts_azure import container_client
from shipyard.tracking.artifacts_s3 import s3_client

AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
AWS_TEST_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def azurite_connection_string(port: int) -> str:
    return (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={AZURITE_KEY};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    )


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what} exited early:\n{log.read_text(errors='replace')[-3000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    process.kill()
    pytest.fail(f"{what} did not listen on 127.0.0.1:{port} within {timeout} s:\n{log.read_text(errors='replace')}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The S3-compatible endpoint: CI's moto server, else one started here."""
    given = os.environ.get("SHIPYARD_TEST_S3_ENDPOINT_URL")
    if given:
        yield given
        return
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    wait_for_port(port, process, "moto server", log)
    yield f"http://127.0.0.1:{port}"
    _stop(process)


def _azurite_binary() -> str:
    found = shutil.which("azurite-blob")
    if found:
        return found
    cache = Path.home() / ".cache" / "shipyard-test" / "azurite"
    binary = cache / "node_modules" / ".bin" / "azurite-blob"
    if not binary.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("Azurite is needed: install Node.js (npm) or put azurite-blob on PATH")
        cache.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(cache), "azurite"],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        if done.returncode != 0:
            pytest.fail(f"npm install azurite failed:\n{done.stderr[-3000:]}")
    return str(binary)


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A connection string of the Azurite blob service: CI's, else one started here."""
    given = os.environ.get("SHIPYARD_TEST_AZURITE_CONNECTION_STRING")
    if given:
        yield given
        return
    port = free_port()
    folder = tmp_path_factory.mktemp("azurite")
    log = folder / "azurite.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [_azurite_binary(), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", str(folder / "data"),
             "--skipApiVersionCheck", "--loose", "--silent"],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    wait_for_port(port, process, "azurite", log)
    yield azurite_connection_string(port)
    _stop(process)


@pytest.fixture()
def aws_env(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The variables a user sets for an S3-compatible server: endpoint and (test) credentials."""
    variables = {**AWS_TEST_CREDENTIALS, "MLFLOW_S3_ENDPOINT_URL": s3_endpoint}
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    s3_client.cache_clear()
    return variables


@pytest.fixture()
def bucket(aws_env: dict[str, str], s3_endpoint: str) -> str:
    """A new, empty bucket on the S3 server."""
    name = f"shipyard-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=name)
    return name


@pytest.fixture()
def azure_env(azurite: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite)
    container_client.cache_clear()
    return {"AZURE_STORAGE_CONNECTION_STRING": azurite}


@pytest.fixture()
def container(azure_env: dict[str, str], azurite: str) -> str:
    """A new, empty container on Azurite."""
    name = f"shipyard-{uuid.uuid4().hex[:12]}"
    BlobServiceClient.from_connection_string(azurite).create_container(name)
    return name


@pytest.fixture()
def make_tree(tmp_path: Path) -> Callable[..., Path]:
    """`make_tree(files={"a.txt": b"..."})`: a local folder with those files."""

    def make(files: dict[str, bytes], name: str = "src") -> Path:
        root = tmp_path / name
        for relative, data in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return root

    return make


SHIPYARD = str(Path(sys.executable).parent / "shipyard")


class Process:
    """A started subprocess with its log and URL."""

    def __init__(self, url: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.url, self.process, self.log = url, process, log

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def clean_env(**variables: str) -> dict[str, str]:
    """The environment without the caller's MLflow/Shipyard/AWS/Azure settings, plus `variables`."""
    prefixes = ("MLFLOW_", "SHIPYARD_", "AWS_", "AZURE_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes) or k.startswith("SHIPYARD_TEST_")}
    env.update(PYTHONWARNINGS="ignore", AWS_EC2_METADATA_DISABLED="true", **variables)
    return env


def wait_healthy(proc: Process, what: str, timeout: float = 90) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.process.poll() is not None:
            pytest.fail(f"{what} exited early:\n{proc.output()[-4000:]}")
        try:
            if requests.get(proc.url + "/health", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.2)
    proc.process.kill()
    pytest.fail(f"{what} did not answer /health within {timeout} s:\n{proc.output()[-4000:]}")


@pytest.fixture()
def env_for() -> Callable[..., dict[str, str]]:
    """`env_for(**variables)`: see `clean_env` (test modules cannot import a conftest)."""
    return clean_env


@pytest.fixture()
def start_process(tmp_path: Path) -> Iterator[Callable[..., Process]]:
    """`start_process(args, env, cwd, what)`: a subprocess answering /health on a free port
    (`{port}` in args is replaced); stopped at the end of the test."""
    started: list[Process] = []

    def start(args: list[str], env: dict[str, str], cwd: Path, what: str) -> Process:
        port = free_port()
        cwd.mkdir(parents=True, exist_ok=True)
        log = cwd / f"{what.replace(' ', '-')}-{port}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [a.replace("{port}", str(port)) for a in args], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        proc = Process(f"http://127.0.0.1:{port}", process, log)
        started.append(proc)
        wait_healthy(proc, what)
        return proc

    yield start
    for proc in started:
        _stop(proc.process)
