"""A remote registry (`shipyard server`): a version is fetched once per machine into the cache,
keyed by its digest, verified on every load, and fetched again if the cached copy was damaged."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from shipyard.registry.client import RegistryClient
from shipyard.registry.digest import compute_digest, digest_hex
from shipyard.settings import Settings
from shipyard.tracking.client import TrackingClient

SHIPYARD = str(Path(sys.executable).parent / "shipyard")


@pytest.fixture
def server_url(tmp_path: Path) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    root = tmp_path / "server"
    root.mkdir()
    with open(root / "server.log", "wb") as log:
        proc = subprocess.Popen(
            [
                SHIPYARD,
                "server",
                "--backend-store-uri",
                f"sqlite:///{root / 'shipyard.db'}",
                "--default-artifact-root",
                str(root / "artifacts"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=root,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (root / "server.log").read_text()
            try:
                if requests.get(url + "/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, (root / "server.log").read_text()
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_remote_versions_are_fetched_once_into_the_digest_keyed_cache(
    server_url: str, tmp_path: Path, model_dir: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    tracking = TrackingClient(server_url)
    run = tracking.create_run(tracking.create_experiment("remote-cache"))
    source = model_dir(b"remote weights", extra={"sub/vocab.txt": b"a\nb\n"})
    tracking.log_artifacts(run.info.run_id, source, "model")

    cache = tmp_path / "cache"
    client = RegistryClient(server_url, settings=Settings(cache_dir=cache))
    mv = client.register_model(f"runs:/{run.info.run_id}/model", "remote-model")
    assert (mv.version, mv.status, mv.digest) == (1, "READY", compute_digest(source))

    first = client.resolve("models:/remote-model/1")
    assert first.local_path == cache / "models" / "sha256" / digest_hex(str(mv.digest))
    assert compute_digest(first.local_path) == mv.digest
    inode = (first.local_path / "model.bin").stat().st_ino

    client.set_registered_model_alias("remote-model", "champion", 1)
    again = client.resolve("models:/remote-model@champion")
    assert again.local_path == first.local_path
    assert (again.local_path / "model.bin").stat().st_ino == inode  # not fetched a second time

    by_run = [client.resolve(f"runs:/{run.info.run_id}/model") for _ in range(2)]
    assert by_run[0].local_path == by_run[1].local_path == first.local_path  # deduplicated by digest
    assert by_run[0].digest == mv.digest and by_run[0].run_id == run.info.run_id
    assert len(list((cache / "models" / "sha256").iterdir())) == 1
    assert list((cache / "models" / ".tmp").iterdir()) == []

    damaged = first.local_path / "model.bin"
    damaged.chmod(0o644)
    damaged.write_bytes(b"remote")  # a truncated cached copy is fetched again, then verified
    healed = client.resolve("models:/remote-model/latest")
    assert (healed.local_path / "model.bin").read_bytes() == b"remote weights"
    assert compute_digest(healed.local_path) == mv.digest
