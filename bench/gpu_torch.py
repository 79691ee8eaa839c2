"""A torch model on a CUDA GPU: the device chosen at load, same numbers as the CPU, served batched.

Run on a machine with a GPU (the development machines have none): builds the 64-1024-1024-10 MLP,
saves it with `shipyard.pytorch.save_model`, then
  1. loads it through `pyfunc` twice, on the default device (CUDA when available) and on the CPU,
     checks both predict the same numbers, and prints predict medians at batch 1 and 256;
  2. starts `shipyard serve` on it (the server picks CUDA by itself), checks /health and that
     /invocations answers the CPU's numbers, and drives it with concurrent one-row requests from a
     thread pool (stdlib HTTP client; no wrk needed), printing req/s and latency percentiles.

Run: `python bench/gpu_torch.py [--seconds 10] [--concurrency 32]`.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from benchkit import MLP_SIZES, free_port, mlp_weights, stop_process, torch_mlp

MLP = MLP_SIZES


def machine() -> str:
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA device"
    return (
        f"{platform.platform()} | cpus={os.cpu_count()} | python {platform.python_version()} | "
        f"torch {torch.__version__} | {gpu}"
    )


def median_ms(fn: Any, calls: int = 200) -> float:
    for _ in range(20):
        fn()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def in_process(model_dir: Path) -> np.ndarray:
    from shipyard.flavors import pyfunc

    default = pyfunc.load_model(model_dir)
    cpu = pyfunc.load_model(model_dir, device="cpu")
    rows = np.random.default_rng(1).standard_normal((256, MLP[0])).astype(np.float32)
    got, want = np.asarray(default.predict(rows)), np.asarray(cpu.predict(rows))
    same = np.allclose(got, want, rtol=1e-3, atol=1e-4)
    print(f"default device predicts the CPU's numbers: {same} (max |diff| {np.abs(got - want).max():.2e})")
    print(f"{'batch':>6} {'default ms':>11} {'cpu ms':>8}")
    for batch in (1, 256):
        x = rows[:batch]
        on_default, on_cpu = median_ms(lambda x=x: default.predict(x)), median_ms(lambda x=x: cpu.predict(x))
        print(f"{batch:>6} {on_default:>11.3f} {on_cpu:>8.3f}")
    if not same:
        raise SystemExit("GPU and CPU predictions differ")
    return want


def post(port: int, body: bytes) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/invocations", body, {"Content-Type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data


def wait_ready(port: int, proc: subprocess.Popen[bytes], deadline_s: float = 120) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"shipyard serve exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("shipyard serve did not become ready")


def served(model_dir: Path, want: np.ndarray, seconds: float, concurrency: int) -> None:
    port = free_port()
    cmd = [
        sys.executable,
        "-c",
        "from shipyard.cli import main; main()",
        "serve",
        "-m",
        str(model_dir),
        "-p",
        str(port),
    ]
    # NOTE: the access log goes to a file; an unread pipe fills up and stalls the server. The child
    # keeps its own copy of the file once this process closes its handle.
    with open(model_dir.parent / "serve.log", "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_ready(port, proc)
        rows = np.random.default_rng(1).standard_normal((256, MLP[0])).astype(np.float32)
        status, data = post(port, json.dumps({"inputs": rows[:32].tolist()}).encode())
        got = np.asarray(json.loads(data)["predictions"], dtype=np.float32)
        print(
            f"served predictions match the CPU's: {status == 200 and np.allclose(got, want[:32], rtol=1e-3, atol=1e-4)}"
        )
        body = json.dumps({"inputs": rows[:1].tolist()}).encode()
        stop = time.monotonic() + seconds
        latencies: list[float] = []
        errors = 0

        def client() -> None:
            nonlocal errors
            while time.monotonic() < stop:
                start = time.perf_counter()
                code, _ = post(port, body)
                latencies.append(time.perf_counter() - start)
                errors += code != 200

        begin = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
            for future in [pool.submit(client) for _ in range(concurrency)]:
                future.result()
        elapsed = time.monotonic() - begin
        latencies.sort()
        p = lambda q: latencies[int(q * (len(latencies) - 1))] * 1e3  # noqa: E731
        print(
            f"serve c={concurrency} one-row: {len(latencies) / elapsed:,.0f} req/s, "
            f"p50 {p(0.5):.2f} ms, p99 {p(0.99):.2f} ms, non-200: {errors}"
        )
    finally:
        stop_process(proc)
        print(f"serve exit code after SIGTERM: {proc.returncode}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    print(machine())
    import shipyard.pytorch

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "mlp"
        example = np.zeros((1, MLP[0]), dtype=np.float32)
        shipyard.pytorch.save_model(torch_mlp(mlp_weights()), model_dir, input_example=example)
        want = in_process(model_dir)
        served(model_dir, want, args.seconds, args.concurrency)


if __name__ == "__main__":
    main()
