"""Benchmark: `log_metric` from a training loop, Shipyard vs MLflow, each on its own sqlite file.

For each library: calls per second as the training loop sees them, and the durable rate
(metrics per second until everything is in the database). MLflow is measured three ways: its
synchronous `log_metric`, `log_metric(..., synchronous=False)` + `flush_async_logging()`, and
`MlflowClient.log_batch` with 1,000 metrics per call. Medians of `--repeats` runs.

    .venv/bin/python bench/tracking.py [--repeats 3] [--calls 100000]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from benchkit import machine


def shipyard_fluent(workdir: Path, calls: int) -> tuple[float, float]:
    import shipyard

    shipyard.set_tracking_uri(f"sqlite:///{workdir / 'shipyard.db'}")
    shipyard.set_experiment("bench")
    with shipyard.start_run():
        log_metric = shipyard.log_metric
        start = time.perf_counter()
        for step in range(calls):
            log_metric("loss", 1.0 / (step + 1), step=step)
        returned = time.perf_counter()
        shipyard.flush_async_logging()
        durable = time.perf_counter()
    return calls / (returned - start), calls / (durable - start)


def _mlflow(workdir: Path) -> object:
    import mlflow

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.ERROR)
    mlflow.set_tracking_uri(f"sqlite:///{workdir / 'mlflow.db'}")
    mlflow.set_experiment("bench")
    return mlflow


def mlflow_sync(workdir: Path, calls: int) -> tuple[float, float]:
    mlflow = _mlflow(workdir)
    with mlflow.start_run():  # type: ignore[attr-defined]
        start = time.perf_counter()
        for step in range(calls):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)  # type: ignore[attr-defined]
        elapsed = time.perf_counter() - start
    return calls / elapsed, calls / elapsed


def mlflow_async(workdir: Path, calls: int) -> tuple[float, float]:
    mlflow = _mlflow(workdir)
    with mlflow.start_run():  # type: ignore[attr-defined]
        start = time.perf_counter()
        for step in range(calls):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step, synchronous=False)  # type: ignore[attr-defined]
        returned = time.perf_counter()
        mlflow.flush_async_logging()  # type: ignore[attr-defined]
        durable = time.perf_counter()
    return calls / (returned - start), calls / (durable - start)


def mlflow_log_batch(workdir: Path, calls: int) -> tuple[float, float]:
    mlflow = _mlflow(workdir)
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    with mlflow.start_run() as run:  # type: ignore[attr-defined]
        now = int(time.time() * 1000)
        start = time.perf_counter()
        for offset in range(0, calls, 1000):
            batch = [Metric("loss", 1.0 / (s + 1), now, s) for s in range(offset, min(offset + 1000, calls))]
            client.log_batch(run.info.run_id, metrics=batch)
        elapsed = time.perf_counter() - start
    return calls / elapsed, calls / elapsed


def measure(
    name: str, fn: Callable[[Path, int], tuple[float, float]], calls: int, repeats: int
) -> tuple[str, int, float, float]:
    returned, durable = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="bench-tracking-") as tmp:
            r, d = fn(Path(tmp), calls)
        returned.append(r)
        durable.append(d)
        print(f"  {name}: {r:,.0f} calls/s, {d:,.0f} metrics/s durable", file=sys.stderr)
    return name, calls, statistics.median(returned), statistics.median(durable)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--calls", type=int, default=100_000, help="Shipyard log_metric calls per repeat")
    parser.add_argument("--mlflow-sync-calls", type=int, default=300)
    parser.add_argument("--mlflow-async-calls", type=int, default=1_000)
    parser.add_argument("--mlflow-batch-calls", type=int, default=20_000)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # MLflow's deprecation chatter is not what is measured

    print(f"machine: {machine()}")
    rows = [measure("shipyard log_metric", shipyard_fluent, args.calls, args.repeats)]
    import mlflow

    print(f"mlflow {mlflow.__version__}")
    rows.append(measure("mlflow log_metric (synchronous)", mlflow_sync, args.mlflow_sync_calls, args.repeats))
    rows.append(measure("mlflow log_metric (synchronous=False)", mlflow_async, args.mlflow_async_calls, args.repeats))
    rows.append(measure("mlflow log_batch x1000", mlflow_log_batch, args.mlflow_batch_calls, args.repeats))

    print(f"\nmedians of {args.repeats} runs, each store a fresh sqlite file")
    print(f"{'':40} {'metrics':>8} {'calls/s':>12} {'durable/s':>12}")
    for name, calls, returned, durable in rows:
        print(f"{name:40} {calls:>8,} {returned:>12,.0f} {durable:>12,.0f}")
    base = rows[0]
    print("\nShipyard vs each MLflow mode (calls/s ratio, durable/s ratio)")
    for name, _, returned, durable in rows[1:]:
        print(f"  vs {name:36} {base[2] / returned:>8.1f}x {base[3] / durable:>8.1f}x")
    print(
        f"\ntargets: >= 100,000 calls/s -> {'met' if base[2] >= 100_000 else 'MISSED'}; "
        f">= 50,000 metrics/s durable -> {'met' if base[3] >= 50_000 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
