"""Benchmark: `runs/log-batch` through a tracking server, `shipyard server` vs `mlflow server`.

Both servers run on this machine, one at a time, each with one worker process and its own sqlite
file. The same client (requests, `--threads` threads with one keep-alive session each) sends the
same JSON log-batch bodies (`--batch` metrics each, distinct steps) to each. Reported per server:
requests/s, metrics/s and per-request latency p50/p99, medians over `--repeats` rounds; then the
ratio Shipyard / MLflow.

    .venv/bin/python bench/server.py [--requests 300] [--batch 100] [--threads 4] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from benchkit import free_port, machine, stop_process

BIN = Path(sys.executable).parent
API = "/api/2.0/mlflow"


def start(kind: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    db = f"sqlite:///{workdir / (kind + '.db')}"
    artifacts = str(workdir / f"{kind}-artifacts")
    if kind == "shipyard":
        command = [
            str(BIN / "shipyard"),
            "server",
            "--backend-store-uri",
            db,
            "--default-artifact-root",
            artifacts,
            "--port",
            str(port),
            "--workers",
            "1",
            "--log-level",
            "warning",
        ]
    else:
        command = [
            str(BIN / "mlflow"),
            "server",
            "--backend-store-uri",
            db,
            "--default-artifact-root",
            artifacts,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ]
    with open(workdir / f"{kind}.log", "wb") as log:  # the child keeps its own copy of the file
        process = subprocess.Popen(command, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{kind} server exited; see {workdir / (kind + '.log')}")
        try:
            if requests.get(url + "/health", timeout=2).status_code == 200:
                return process, url
        except requests.RequestException:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"{kind} server did not start within 180 s")


def new_run(url: str, name: str) -> str:
    experiment = requests.post(url + API + "/experiments/create", json={"name": name}, timeout=30).json()[
        "experiment_id"
    ]
    run = requests.post(url + API + "/runs/create", json={"experiment_id": experiment}, timeout=30).json()
    return str(run["run"]["info"]["run_id"])


def round_trip(url: str, run_id: str, total: int, batch: int, threads: int) -> tuple[float, list[float]]:
    """(wall seconds, per-request latencies) for `total` log-batch requests over `threads` threads."""
    latencies: list[float] = []
    lock = threading.Lock()
    counter = iter(range(total))

    def worker() -> None:
        session = requests.Session()
        mine = []
        for index in counter:
            base = index * batch
            body = {
                "run_id": run_id,
                "metrics": [
                    {
                        "key": "loss",
                        "value": 1.0 / (base + i + 1),
                        "timestamp": 1_700_000_000_000 + base + i,
                        "step": base + i,
                    }
                    for i in range(batch)
                ],
            }
            began = time.perf_counter()
            answer = session.post(url + API + "/runs/log-batch", json=body, timeout=120)
            mine.append(time.perf_counter() - began)
            if answer.status_code != 200:
                raise RuntimeError(f"log-batch answered {answer.status_code}: {answer.text[:200]}")
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    began = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return time.perf_counter() - began, latencies


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(kind: str, workdir: Path, args: argparse.Namespace) -> dict[str, float]:
    process, url = start(kind, workdir)
    try:
        rounds = []
        for repeat in range(args.repeats):
            run_id = new_run(url, f"bench-{repeat}")
            round_trip(url, run_id, max(10, args.requests // 10), args.batch, args.threads)  # warm-up
            wall, latencies = round_trip(
                url, new_run(url, f"bench-{repeat}-timed"), args.requests, args.batch, args.threads
            )
            rounds.append(
                {"rps": args.requests / wall, "p50_ms": p(latencies, 0.5) * 1000, "p99_ms": p(latencies, 0.99) * 1000}
            )
        return {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    finally:
        stop_process(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(
        f"workload: {args.requests} log-batch requests x {args.batch} metrics, {args.threads} client threads, "
        f"1 server worker, sqlite; medians of {args.repeats} rounds"
    )
    results = {}
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-server-") as tmp:
        for kind in ("shipyard", "mlflow"):
            results[kind] = measure(kind, Path(tmp), args)
    print(f"{'server':<10} {'requests/s':>12} {'metrics/s':>12} {'p50 ms':>10} {'p99 ms':>10}")
    for kind, r in results.items():
        print(f"{kind:<10} {r['rps']:>12.1f} {r['rps'] * args.batch:>12.0f} {r['p50_ms']:>10.1f} {r['p99_ms']:>10.1f}")
    s, m = results["shipyard"], results["mlflow"]
    print(
        f"ratio shipyard/mlflow: throughput {s['rps'] / m['rps']:.1f}x, "
        f"p99 latency {m['p99_ms'] / s['p99_ms']:.1f}x lower"
    )


if __name__ == "__main__":
    main()
