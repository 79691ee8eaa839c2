"""`serve` tells the registry who serves what: real `shipyard serve` processes reporting to a real
registry (the tracking server over HTTP, and a sqlite file directly), read back through the CLI,
the REST API and the store."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shipyard import MlflowClient
from shipyard.registry.client import RegistryClient
from shipyard.registry.deployments import Deployment
from shipyard.registry.store import get_registry_store
from shipyard.runtime.deployment_report import TTL_POLLS, deployment_reporter, reports
from shipyard.runtime.identity import ModelIdentity
from shipyard.runtime.model import ServedModel
from shipyard.runtime.settings import ServeSettings
from shipyard.runtime.workers import Workers
from shipyard.settings import Settings

BIN = Path(sys.executable).parent
POLL = 1.0
"""Long enough that a record outliving its server by less than the TTL (3 s) is measurable."""
LIST_PATH = "/api/2.0/shipyard/registered-models/deployments/list"
REPORT_PATH = "/api/2.0/shipyard/registered-models/deployments/report"


@contextlib.contextmanager
def tracking_server(tmp: Path, port: int) -> Iterator[str]:
    root = tmp / "tracking"
    root.mkdir()
    log = root / "server.log"
    command = [str(BIN / "shipyard"), "server", "--backend-store-uri", f"sqlite:///{root / 'db.sqlite'}"]
    command += ["--default-artifact-root", str(root / "artifacts"), "--host", "127.0.0.1", "--port", str(port)]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        wait(lambda: _ok(url + "/health"), f"tracking server:\n{log.read_text()[-3000:]}", 60)
        yield url
    finally:
        process.terminate()
        process.wait(30)


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def wait(check: Callable[[], object], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.05)


def cli_deployments(tracking_uri: str, name: str, *flags: str) -> subprocess.CompletedProcess[str]:
    command = [str(BIN / "shipyard"), "models", "deployments", name, "--tracking-uri", tracking_uri, *flags]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def cli_records(tracking_uri: str, name: str) -> list[dict[str, Any]]:
    done = cli_deployments(tracking_uri, name, "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["name"] == name
    records: list[dict[str, Any]] = document["deployments"]
    return records


def of_server(records: list[dict[str, Any]], port: int) -> dict[str, Any] | None:
    return next((r for r in records if r["port"] == port), None)


def registry(tracking_uri: str, tmp: Path) -> tuple[RegistryClient, dict[str, str]]:
    cache = str(tmp / "cache")
    client = RegistryClient(tracking_uri=tracking_uri, settings=Settings(tracking_uri=tracking_uri, cache_dir=cache))
    return client, {"SHIPYARD_TRACKING_URI": tracking_uri, "SHIPYARD_CACHE_DIR": cache}


def test_a_server_reports_what_it_serves_over_http_follows_a_move_and_is_removed_at_sigterm(
    tmp_path: Path, iris_dir: Path, start_shipyard: Any, port_factory: Callable[[], int]
) -> None:
    with tracking_server(tmp_path, port_factory()) as tracking:
        client, env = registry(tracking, tmp_path)
        runs = MlflowClient(tracking, settings=Settings(tracking_uri=tracking))
        run = runs.create_run("0")
        runs.log_artifacts(run.info.run_id, str(iris_dir), "model")
        for _ in range(2):
            client.register_model(f"runs:/{run.info.run_id}/model", "iris")
        client.transition_model_version_stage("iris", 1, "Production")
        bad = httpx.post(tracking + REPORT_PATH, json={"server_id": "x", "host": "h", "port": "80"}, timeout=10)
        assert bad.status_code == 400 and bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        assert "'port'" in bad.json()["message"]
        unknown = httpx.get(tracking + LIST_PATH, params={"name": "nope"}, timeout=10)
        assert unknown.status_code == 404 and "nope" in unknown.json()["message"]
        missing = cli_deployments(tracking, "nope")
        assert missing.returncode == 1 and "nope" in missing.stderr and "Traceback" not in missing.stderr
        uri = "models:/iris/Production"
        with start_shipyard(uri, tmp_path, "--poll-interval", str(POLL), env=env) as server:
            port = int(server.url.rsplit(":", 1)[1])
            wait(lambda: (r := of_server(cli_records(tracking, "iris"), port)) and r["ready"], "a ready record")
            record = of_server(cli_records(tracking, "iris"), port)
            assert record is not None
            assert (record["versions"], record["uri"], record["host"]) == (["1"], uri, "127.0.0.1")
            assert record["pid"] > 0 and record["started_at"] <= record["reported_at"] < record["expires_at"]
            assert record["expires_at"] - record["reported_at"] == int(TTL_POLLS * POLL * 1000)

            answer = httpx.get(tracking + LIST_PATH, params={"name": "iris"}, timeout=10)
            assert answer.status_code == 200
            assert [d["versions"] for d in answer.json()["deployments"] if d["port"] == port] == [["1"]]
            table = cli_deployments(tracking, "iris")
            assert table.returncode == 0 and "Versions" in table.stdout and f"{port}" in table.stdout
            assert "models:/iris/Production" in table.stdout

            client.transition_model_version_stage("iris", 2, "Production", archive_existing_versions=True)
            wait(lambda: (of_server(cli_records(tracking, "iris"), port) or {}).get("versions") == ["2"], "v2")
            served = httpx.get(server.url + "/version", headers={"Accept": "application/json"}, timeout=10).json()
            assert served["model"]["version"] == "2"

            # the UI's model page and the served version's page say who serves it; version 1's does not
            for path, listed in (
                ("/ui/models/iris", True),
                ("/ui/models/iris/versions/2", True),
                ("/ui/models/iris/versions/1", False),
            ):
                html = httpx.get(tracking + path, timeout=10).text
                assert "Who serves it" in html
                assert (f"<td>{port}</td>" in html) is listed, path

            last = get_registry_store(tracking).list_deployments("iris")
            assert server.stop(signal.SIGTERM) == 0
            gone_at = time.time() * 1000
            assert [d for d in get_registry_store(tracking).list_deployments("iris") if d.port == port] == []
            # removed by the shutdown, not expired: the last record would still have been live
            assert any(d.port == port and d.expires_at > gone_at for d in last)


def test_a_server_whose_registry_is_gone_still_stops_at_once(
    tmp_path: Path, iris_dir: Path, start_shipyard: Any, port_factory: Callable[[], int]
) -> None:
    """The registry stopped first (a rollout, an outage): SIGTERM still stops `serve` in seconds.
    Each poll and report is one short attempt (the next interval is the retry), so the shutdown
    does not wait out the client's retries (16 s of them) for the poll in flight and the removal."""
    with contextlib.ExitStack() as registry_up:
        tracking = registry_up.enter_context(tracking_server(tmp_path, port_factory()))
        client, env = registry(tracking, tmp_path)
        runs = MlflowClient(tracking, settings=Settings(tracking_uri=tracking))
        run = runs.create_run("0")
        runs.log_artifacts(run.info.run_id, str(iris_dir), "model")
        client.register_model(f"runs:/{run.info.run_id}/model", "iris")
        client.transition_model_version_stage("iris", 1, "Production")
        with start_shipyard("models:/iris/Production", tmp_path, "--poll-interval", "0.2", env=env) as server:
            port = int(server.url.rsplit(":", 1)[1])
            wait(lambda: (r := of_server(cli_records(tracking, "iris"), port)) and r["ready"], "a ready record")
            registry_up.close()
            server.wait_for_log("could not poll the registry")
            assert httpx.get(server.url + "/health", timeout=10).status_code == 200  # still serving
            assert server.stop(signal.SIGTERM, timeout=10) == 0, server.log_text()[-3000:]
            log = server.log_text()
            assert "could not remove this server's deployment record (it expires by itself): cannot reach" in log
            assert "Traceback" not in log


def test_a_killed_server_drops_out_after_the_ttl_on_a_sqlite_registry(
    tmp_path: Path, iris_dir: Path, start_shipyard: Any
) -> None:
    tracking = f"sqlite:///{tmp_path / 'registry.db'}"
    client, env = registry(tracking, tmp_path)
    client.register_model(str(iris_dir), "iris")
    client.set_registered_model_alias("iris", "champion", 1)
    store = get_registry_store(tracking)
    with start_shipyard("models:/iris@champion", tmp_path, "--poll-interval", str(POLL), env=env) as server:
        port = int(server.url.rsplit(":", 1)[1])

        def mine() -> list[Deployment]:
            return [d for d in store.list_deployments("iris") if d.port == port]

        wait(lambda: [d.ready for d in mine()] == [True], "a ready record")
        (record,) = mine()
        assert record.versions == ("1",) and record.uri == "models:/iris@champion"
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(10)
        killed = time.monotonic()
        assert mine(), "a killed server cannot remove its record: it stays until the TTL"
        wait(lambda: not mine(), "expiry", timeout=TTL_POLLS * POLL + 5)
        assert time.monotonic() - killed <= TTL_POLLS * POLL + 1.5


def test_a_registry_that_does_not_answer_never_breaks_serving(
    tmp_path: Path, iris_dir: Path, port_factory: Callable[[], int], caplog: pytest.LogCaptureFixture
) -> None:
    """Failing reports are logged once per streak and retried; nothing raises into the server."""
    dead = f"http://127.0.0.1:{port_factory()}"
    settings = ServeSettings(base=Settings(tracking_uri=dead), model_uri="models:/iris/1", poll_interval=0.05)
    identity = ModelIdentity("iris", str(iris_dir), "models:/iris/1", version="1")
    served = ServedModel(identity, settings, Workers(1))
    assert reports(settings, [served])
    assert not reports(settings.model_copy(update={"base": Settings()}), [served])
    reporter = deployment_reporter(settings, [served])  # one attempt per report: the next one retries

    async def three_reports() -> list[bool]:
        return [await reporter.report_once() for _ in range(3)]

    with caplog.at_level(logging.WARNING, logger="shipyard.runtime"):
        assert asyncio.run(three_reports()) == [False, False, False]
    warnings = [r for r in caplog.records if "could not report" in r.getMessage()]
    assert len(warnings) == 1 and reporter.last_error is not None
    assert reporter.report().models[0].versions == ("1",) and not reporter.report().models[0].ready
    assert reporter.report().pid == os.getpid()
