"""`--workers N` exposes one `/metrics` for the whole server: every request counted exactly once,
whichever worker answers the scrape, and counters that only grow."""

from __future__ import annotations

import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

IRIS_COLUMNS = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
ROW = {"dataframe_split": {"columns": IRIS_COLUMNS, "data": [[5.1, 3.5, 1.4, 0.2]]}}
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")


def samples(text: str) -> dict[str, float]:
    """Every sample of a Prometheus text page, keyed by name and labels."""
    found: dict[str, float] = {}
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match:
            found[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return found


def invocations_200(page: dict[str, float]) -> float:
    return sum(
        value
        for key, value in page.items()
        if key.startswith("shipyard_requests_total{") and 'route="/invocations"' in key and 'status="200"' in key
    )


def scrape(url: str) -> dict[str, float]:
    # NOTE: a new connection per scrape, so successive scrapes may reach different workers.
    with httpx.Client() as client:
        answer = client.get(url + "/metrics")
    assert answer.status_code == 200
    return samples(answer.text)


def test_requests_are_counted_once_across_workers(iris_dir: Path, tmp_path: Path, start_shipyard: Any) -> None:
    metrics_root = tmp_path / "tmp"
    metrics_root.mkdir()
    with start_shipyard(iris_dir, tmp_path, "--workers", "2", env={"TMPDIR": str(metrics_root)}) as server:

        def one(_: int) -> int:
            with httpx.Client() as client:
                return client.post(server.url + "/invocations", json=ROW).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(one, range(1000)))
        assert statuses == [200] * 1000

        (shared,) = list(metrics_root.glob("shipyard-metrics-*"))
        pids = {int(m.group(1)) for f in shared.glob("*.db") if (m := re.search(r"_(\d+)\.db$", f.name))}
        assert len(pids) == 2, f"both workers should have counted requests, files from {pids}"
        assert os.getpid() not in pids

        first = scrape(server.url)
        second = scrape(server.url)
        assert invocations_200(first) == 1000
        assert invocations_200(second) == 1000
        for key, value in first.items():
            if key.split("{")[0].endswith("_total") and key in second:
                assert second[key] >= value, f"{key} went back from {value} to {second[key]}"
        assert first["process_resident_memory_bytes"] > 0
        scrapes = [v for k, v in second.items() if k.startswith("shipyard_requests_total{") and 'route="/metrics"' in k]
        assert sum(scrapes) >= 1, "the first scrape is counted by the second"
    assert not shared.exists(), "the shared metrics directory is removed when the server stops"


def test_the_shared_directory_is_fresh_and_orphans_are_removed(tmp_path: Path) -> None:
    from shipyard.runtime.metrics_shared import MULTIPROC_ENV, shared_metrics_directory

    dead = subprocess.Popen(["true"])
    dead.wait()
    orphan = tmp_path / f"shipyard-metrics-{dead.pid}-left"
    orphan.mkdir()
    (orphan / "counter_1.db").write_bytes(b"stale")
    mine = tmp_path / f"shipyard-metrics-{os.getpid()}-mine"
    mine.mkdir()
    before = os.environ.get(MULTIPROC_ENV)
    with shared_metrics_directory(tmp_path) as path:
        assert os.environ[MULTIPROC_ENV] == str(path)
        assert list(path.iterdir()) == []
        assert not orphan.exists(), "a killed server's directory is removed at the next start"
        assert mine.exists(), "a live server's directory is left alone"
    assert not path.exists()
    assert os.environ.get(MULTIPROC_ENV) == before
