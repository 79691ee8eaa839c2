"""Overload answers 503 + Retry-After with flat memory and recovers; SIGTERM drains every accepted
request and exits 0. Short runs (a few seconds) so the suite stays fast; bench/serve.py has the
long version."""

from __future__ import annotations

import collections
import json
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

BODY = {"dataframe_records": [{"x": 1.0}]}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def hammer(url: str, clients: int, seconds: float, stop: threading.Event | None = None) -> collections.Counter[str]:
    """`clients` threads, each a keep-alive client posting in a closed loop."""
    counts: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def loop() -> None:
        local: collections.Counter[str] = collections.Counter()
        with httpx.Client(timeout=30) as client:
            while time.monotonic() < end and not (stop and stop.is_set()):
                try:
                    response = client.post(url + "/invocations", json=BODY)
                except httpx.TransportError as exc:
                    local[f"transport:{type(exc).__name__}"] += 1
                    if stop is not None:
                        time.sleep(0.01)
                    continue
                local[str(response.status_code)] += 1
                if response.status_code == 503:
                    assert response.headers.get("retry-after")
                elif response.status_code == 200:
                    assert response.json() == {"predictions": [2.0]}
        with lock:
            counts.update(local)

    threads = [threading.Thread(target=loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts


@pytest.fixture(scope="module")
def slow_model(tmp_path_factory: pytest.TempPathFactory, python_model_factory: Any) -> Path:
    tmp = tmp_path_factory.mktemp("slow")
    return python_model_factory(tmp / "slow", tmp / "code", delay=0.02)


def test_overload_answers_503_keeps_memory_flat_and_recovers(
    slow_model: Path, tmp_path: Path, start_shipyard: Any
) -> None:
    # capacity ~50 req/s (one row per batch, 20 ms each); 40 clients offer far more than that
    with start_shipyard(slow_model, tmp_path, "--max-batch-size", "1", "--max-queue", "4", "--no-access-log") as server:
        hammer(server.url, 4, 0.5)  # warm the allocator before the baseline
        before = rss_mb(server.process.pid)
        counts = hammer(server.url, 40, 4.0)
        after = rss_mb(server.process.pid)
        assert counts["503"] > counts["200"] > 0, counts
        assert set(counts) <= {"200", "503"}, counts
        assert after - before < 30, f"RSS grew from {before:.0f} MB to {after:.0f} MB"
        recovered = httpx.post(server.url + "/invocations", json=BODY, timeout=10)
        assert recovered.status_code == 200


def test_sigterm_during_load_loses_no_accepted_request(slow_model: Path, tmp_path: Path, start_shipyard: Any) -> None:
    with start_shipyard(slow_model, tmp_path, "--max-batch-size", "4") as server:
        stop = threading.Event()
        result: dict[str, collections.Counter[str]] = {}
        load = threading.Thread(target=lambda: result.update(c=hammer(server.url, 24, 20.0, stop)))
        load.start()
        time.sleep(1.5)
        server.process.send_signal(signal.SIGTERM)
        code = server.process.wait(30)
        stop.set()
        load.join()
        counts = result["c"]
        assert code == 0, server.log_text()[-2000:]
        logged = collections.Counter()
        for line in server.log_text().splitlines():
            if line.startswith('{"method":"POST"'):
                logged[str(json.loads(line)["status"])] += 1
        # every request the server accepted (and logged) was answered to its client
        assert counts["200"] == logged["200"] > 0, (counts, logged)
        assert set(counts) - {"200"} <= {k for k in counts if k.startswith("transport:")}, counts
