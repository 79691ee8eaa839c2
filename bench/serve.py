"""Serving benchmark: `shipyard serve` vs `mlflow models serve` vs a bare Starlette ceiling.

What it does, in one run:
1. builds the models with MLflow (so both servers read the very same directories): an iris
   logistic regression (sklearn), and an MLP 64 -> 1024 -> 1024 -> 10 (ReLU) from one set of
   numpy weights, as ONNX (built with onnx.helper) and as torch (nn.Sequential);
2. prints the in-process batched predict throughput of each model (the compute ceiling);
3. starts each server on 127.0.0.1, records its idle RSS, then drives it with `wrk -t1`
   (closed loop, one thread) at concurrency 1, 16 and 64 with one-row and 32-row requests,
   printing req/s, rows/s, p50, p99, RSS after the run and server CPU per request;
4. drives shipyard (the first model) with default settings at 64, then 640 connections for
   `--overload` seconds, then 64 again (bench/loadgen.py, which keeps every answer): the share of
   non-200s that are 503 with Retry-After, the 200s' p99 against the unloaded p99, RSS, and how
   soon after the overload every answer is a 200 again;
5. prints the ratios against the issue's targets.

Needs wrk on PATH (`apt-get install -y wrk`) and mlflow in the venv (a test dependency). Not run
in CI (it takes minutes and its numbers depend on the machine). Usage:

    .venv/bin/python bench/serve.py [--duration 5] [--rounds 2] [--overload 30] [--models iris,mlp-onnx,mlp-torch]
        [--servers shipyard,mlflow] [--concurrency 1,16,64] [--rows 1,32]

NOTE: run it from outside the repository root (e.g. `cd /tmp && python /path/to/bench/serve.py`)
or with the venv's python and a path: the root's onnx.py/sklearn.py would shadow the libraries
if the root were the cwd of `python -c`.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np
from benchkit import (
    MLP_SIZES,
    WRK_SCRIPT,
    cpu_seconds,
    machine,
    mlp_numpy,
    mlp_weights,
    onnx_mlp,
    rss_mb,
    run_wrk,
    torch_mlp,
)
from loadgen import Answer, percentile, run_phases
from model_servers import server

IRIS_COLUMNS = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]


# -- models -------------------------------------------------------------------------------------
def build_models(root: Path) -> dict[str, tuple[Path, np.ndarray]]:
    """name -> (model dir, a pool of input rows)."""
    import mlflow.onnx
    import mlflow.pytorch
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    out: dict[str, tuple[Path, np.ndarray]] = {}
    x, y = load_iris(return_X_y=True, as_frame=True)
    lr = LogisticRegression(max_iter=500).fit(x, y)
    mlflow.sklearn.save_model(
        lr, str(root / "iris"), signature=infer_signature(x, lr.predict(x)), input_example=x.head(2)
    )
    out["iris"] = (root / "iris", x.to_numpy())

    weights = mlp_weights()
    pool = np.random.default_rng(0).standard_normal((256, MLP_SIZES[0])).astype(np.float32)
    example = pool[:2]
    signature = infer_signature(example, mlp_numpy(weights, example))
    mlflow.onnx.save_model(onnx_mlp(weights), str(root / "mlp-onnx"), signature=signature, input_example=example)
    out["mlp-onnx"] = (root / "mlp-onnx", pool)
    mlflow.pytorch.save_model(torch_mlp(weights), str(root / "mlp-torch"), signature=signature, input_example=example)
    out["mlp-torch"] = (root / "mlp-torch", pool)
    return out


def compute_ceiling(model_dir: Path, pool: np.ndarray, seconds: float = 2.0) -> dict[str, float]:
    """In-process rows/s of predict_prepared at batch 256 and batch 1 (no HTTP, no JSON), with the
    flavor's default threads (all cores): the compute ceiling."""
    from shipyard.flavors.pyfunc import load_model

    model = load_model(model_dir)
    result = {}
    for batch in (256, 1):
        rows = np.resize(pool, (batch, pool.shape[1]))
        prepared = model.prepare_input(rows if model.signature.inputs.is_tensor_spec() else _iris_frame(rows))
        model.predict_prepared(prepared)
        rates = []
        for _ in range(5):  # median of short runs: the machine is shared
            n, start = 0, time.perf_counter()
            while time.perf_counter() - start < seconds / 10:
                model.predict_prepared(prepared)
                n += 1
            rates.append(n * batch / (time.perf_counter() - start))
        result[f"rows_per_s_b{batch}"] = statistics.median(rates)
    return result


def _iris_frame(rows: np.ndarray) -> object:
    import pandas as pd

    return pd.DataFrame(rows, columns=IRIS_COLUMNS)


def body_for(name: str, pool: np.ndarray, rows: int) -> bytes:
    data = np.resize(pool, (rows, pool.shape[1]))
    if name == "iris":
        return json.dumps({"dataframe_split": {"columns": IRIS_COLUMNS, "data": data.round(2).tolist()}}).encode()
    return json.dumps({"inputs": data.round(4).tolist()}).encode()


# -- overload -----------------------------------------------------------------------------------
def _recovery_seconds(after: list[Answer], limit: float, window: float = 0.2) -> float:
    """Seconds from the end of the overload to the first `window` where every answer is a 200
    and the window's p99 is within `limit`."""
    if not after:
        return float("nan")
    origin = min(a.started for a in after)
    buckets: dict[int, list[Answer]] = {}
    for answer in after:
        buckets.setdefault(int((answer.started - origin) / window), []).append(answer)
    for index in sorted(buckets):
        got = buckets[index]
        if all(a.status == 200 for a in got) and percentile([a.seconds for a in got], 0.99) <= limit:
            return index * window
    return float("inf")


def overload(name: str, model: tuple[Path, np.ndarray], work: Path, seconds: float) -> None:
    """10x the connections of the c=64 point, default settings: shed with 503 + Retry-After, keep
    the 200s' p99 within 10x the unloaded p99, flat RSS, recover within 2 s."""
    model_dir, pool = model
    body = body_for(name, pool, 1)
    print(f"\n== overload: shipyard {name}, default settings, 64 -> 640 -> 64 connections ({seconds:g} s at 640) ==")
    with server("shipyard", model_dir, work) as (url, pid):
        run_phases(url, "/invocations", body, [(64, 2.0)])  # warm-up
        rss_before = rss_mb(pid)
        samples: list[float] = []
        sampling = threading.Event()

        def sample() -> None:
            while not sampling.wait(0.5):
                samples.append(rss_mb(pid))

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            normal, loaded, after = run_phases(url, "/invocations", body, [(64, 5.0), (640, seconds), (64, 5.0)])
        finally:
            sampling.set()
            sampler.join()
    base_p99 = percentile([a.seconds for a in normal if a.status == 200], 0.99)
    ok = [a.seconds for a in loaded if a.status == 200]
    statuses = collections.Counter(a.status for a in loaded)
    not_ok = len(loaded) - len(ok)
    shed = sum(1 for a in loaded if a.status == 503 and a.retry_after)
    loaded_p99 = percentile(ok, 0.99)
    recovery = _recovery_seconds(after, 2 * base_p99)
    print(f"before: {len(normal) / 5.0:,.0f} answers/s at c=64, p99 {base_p99 * 1000:.1f} ms, RSS {rss_before:.0f} MB")
    print(
        f"during: {len(loaded):,} answered ({len(loaded) / seconds:,.0f}/s), "
        f"statuses {dict(sorted(statuses.items()))}; "
        f"{shed:,} of the {not_ok:,} non-200s are 503 with Retry-After ({shed / max(not_ok, 1):.0%}); "
        f"p99 of the 200s {loaded_p99 * 1000:.1f} ms = {loaded_p99 / base_p99:.1f}x unloaded (target < 10x); "
        f"RSS min/median/max {min(samples):.0f}/{statistics.median(samples):.0f}/{max(samples):.0f} MB"
    )
    print(
        f"after:  {len(after) / 5.0:,.0f} answers/s at c=64, non-200 {sum(a.status != 200 for a in after)}, "
        f"recovered (all 200, p99 within 2x unloaded) {recovery:.1f} s after the overload (target <= 2 s)"
    )


# -- main ---------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk point")
    parser.add_argument("--models", default="iris,mlp-onnx,mlp-torch")
    parser.add_argument("--servers", default="shipyard,mlflow")
    parser.add_argument("--concurrency", default="1,16,64")
    parser.add_argument("--rows", default="1,32")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare Starlette ceiling")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved repetitions per point (median)")
    parser.add_argument(
        "--overload",
        type=float,
        default=30.0,
        help="seconds of 10x overload on shipyard (first selected model); 0 skips",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not on PATH: apt-get install -y wrk")
    conc = [int(c) for c in args.concurrency.split(",")]
    rows_list = [int(r) for r in args.rows.split(",")]
    print(f"machine: {machine()}")
    print(f"wrk -t1, closed loop, {args.duration:g} s per point; concurrency {conc}; rows {rows_list}")

    work = Path(tempfile.mkdtemp(prefix="shipyard-bench-"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mlflow's own save-time warnings are not what we measure
        models = build_models(work / "models")
    selected = [m for m in args.models.split(",") if m in models]
    script = work / "post.lua"
    script.write_text(WRK_SCRIPT)

    print("\n== in-process predict (compute ceiling, shipyard pyfunc, no HTTP) ==")
    ceilings = {}
    for name in selected:
        ceilings[name] = compute_ceiling(*models[name])
        print(
            f"{name:10s} batch 256: {ceilings[name]['rows_per_s_b256']:>10,.0f} rows/s   "
            f"batch 1: {ceilings[name]['rows_per_s_b1']:>9,.0f} rows/s"
        )

    results: dict[tuple[str, str, int, int], dict[str, float]] = {}
    header = (
        f"{'server':9s} {'model':10s} {'c':>3s} {'rows':>4s} {'req/s':>9s} {'rows/s':>10s} {'p50 ms':>8s} "
        f"{'p99 ms':>8s} {'RSS MB':>7s} {'CPU ms/req':>10s} {'non2xx':>6s} {'err':>4s}"
    )
    print(f"\n== HTTP, wrk -t1; medians of {args.rounds} rounds, servers interleaved per point ==\n" + header)

    def one_point(kind: str, url: str, pid: int, body: Path, c: int) -> dict[str, float]:
        cpu0 = cpu_seconds(pid)
        stats = run_wrk(url, body, script, c, args.duration)
        stats["cpu_ms"] = 1000 * (cpu_seconds(pid) - cpu0) / max(stats["requests"], 1)
        stats["rss"] = rss_mb(pid)
        return stats

    def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
        out = {key: statistics.median(run[key] for run in runs) for key in ("rps", "p50_us", "p99_us", "cpu_ms")}
        out.update(
            rss=max(run["rss"] for run in runs),
            non2xx=sum(run["non2xx"] for run in runs),
            errors=sum(run["errors"] for run in runs),
        )
        return out

    def show(kind: str, name: str, c: int, rows: int, st: dict[str, float]) -> None:
        print(
            f"{kind:9s} {name:10s} {c:3d} {rows:4d} {st['rps']:9,.0f} {st['rps'] * rows:10,.0f} "
            f"{st['p50_us'] / 1000:8.2f} {st['p99_us'] / 1000:8.2f} {st['rss']:7.0f} "
            f"{st['cpu_ms']:10.3f} {st['non2xx']:6.0f} {st['errors']:4.0f}",
            flush=True,
        )

    idle: dict[tuple[str, str], float] = {}
    kinds = args.servers.split(",")
    with contextlib.ExitStack() as bare_stack:
        bare = None if args.no_bare else bare_stack.enter_context(server("bare", None, work))
        if bare is not None:
            idle[("bare", "-")] = rss_mb(bare[1])
        for name in selected:
            model_dir, pool = models[name]
            with contextlib.ExitStack() as stack:
                running = {kind: stack.enter_context(server(kind, model_dir, work)) for kind in kinds}
                time.sleep(1.0)
                for kind, (_, pid) in running.items():
                    idle[(kind, name)] = rss_mb(pid)
                if bare is not None:
                    running = {"bare": bare, **running}
                for rows in rows_list:
                    body = work / f"body-{name}-{rows}.json"
                    body.write_bytes(body_for(name, pool, rows))
                    for url, _ in running.values():
                        run_wrk(url, body, script, 4, 1.0)  # warm-up
                    for c in conc:
                        runs: dict[str, list[dict[str, float]]] = {kind: [] for kind in running}
                        for _ in range(args.rounds):
                            for kind, (url, pid) in running.items():
                                runs[kind].append(one_point(kind, url, pid, body, c))
                        for kind in running:
                            label = name if kind != "bare" else f"({name})"
                            results[(kind, name, c, rows)] = median_of(runs[kind])
                            show(kind, label, c, rows, results[(kind, name, c, rows)])

    if args.overload > 0 and selected:
        target = "mlp-onnx" if "mlp-onnx" in selected else selected[0]
        overload(target, models[target], work, args.overload)

    print("\n== idle RSS after load (MB) ==")
    for (kind, name), mb in idle.items():
        print(f"{kind:9s} {name:10s} {mb:7.0f}")

    print("\n== targets (c=64, one row unless noted) ==")
    for name in selected:
        bare = results.get(("bare", name, 64, 1))
        ours, theirs = results.get(("shipyard", name, 64, 1)), results.get(("mlflow", name, 64, 1))
        if ours is None:
            continue
        line = (
            f"{name:10s} shipyard {ours['rps']:,.0f} req/s p99 {ours['p99_us'] / 1000:.2f} ms, "
            f"CPU {ours['cpu_ms']:.3f} ms/req"
        )
        if theirs:
            need = 15 if name == "iris" else 8
            line += (
                f" | vs mlflow {ours['rps'] / theirs['rps']:.1f}x req/s (target >= {need}x), "
                f"p99 {ours['p99_us'] / max(theirs['p99_us'], 1):.2f} of mlflow's (target <= 0.25)"
            )
        if bare:
            line += f" | {ours['rps'] / bare['rps']:.2f} of bare HTTP (target >= 0.5)"
        print(line)
        one = results.get(("shipyard", name, 1, 1))
        if one:
            print(f"{'':10s} c=1 one-row p50 {one['p50_us'] / 1000:.3f} ms (MLP target <= 1 ms)")
        big = results.get(("shipyard", name, 64, 32))
        if big and name in ceilings:
            frac = big["rps"] * 32 / ceilings[name]["rows_per_s_b256"]
            print(
                f"{'':10s} c=64 32-row {big['rps'] * 32:,.0f} rows/s = {frac:.2f} of the batch-256 ceiling "
                "(target >= 0.5)"
            )
    print(
        "\nshipyard idle RSS (target < 200 MB): "
        + ", ".join(f"{n} {mb:.0f} MB" for (k, n), mb in idle.items() if k == "shipyard")
    )
    print(
        "each figure is the median over rounds; servers alternate within each point, so ratios are"
        " taken under the same load (the machine is shared)"
    )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
