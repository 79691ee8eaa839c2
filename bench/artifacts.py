"""Benchmark: a large model file through a tracking server's artifact proxy into S3 and back,
`shipyard server` vs `mlflow server`, both with `--artifacts-destination s3://...`.

One moto S3 server (the standalone `moto.server`, on loopback) holds both servers' buckets. Each
tracking server runs alone, one worker. The same client streams the same file (`--mb` MB of
random bytes) up with one PUT to the proxy and down with one GET, neither ever in memory whole.
Reported per server: MB/s up, MB/s down, and the server's peak RSS (its whole process tree,
sampled every 50 ms) during the transfers; then Shipyard / MLflow ratios. Also the CPU seconds the
tracking server and moto spent on the upload: on a busy 2-core machine moto (one GIL-bound
process) is the bottleneck, and those figures tell a slow run from a slow server. `--rounds N`
measures both servers N times, alternating which goes first, and reports each one's best.

    .venv/bin/python bench/artifacts.py [--mb 1024] [--rounds 1]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import boto3
import requests
from benchkit import cpu_seconds, free_port, machine, rss_mb, stop_process

BIN = Path(sys.executable).parent
PROXY = "/api/2.0/mlflow-artifacts/artifacts"
CHUNK = 1024 * 1024
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}


def wait_http(url: str, process: subprocess.Popen[bytes], what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited early")
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"{what} did not answer within {timeout} s")


def start_server(
    kind: str, workdir: Path, destination: str, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    db = f"sqlite:///{workdir / (kind + '.db')}"
    if kind == "shipyard":
        command = [str(BIN / "shipyard"), "server", "--backend-store-uri", db, "--artifacts-destination", destination,
                   "--port", str(port), "--log-level", "warning"]  # fmt: skip
    else:
        command = [str(BIN / "mlflow"), "server", "--backend-store-uri", db, "--artifacts-destination", destination,
                   "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]  # fmt: skip
    log = open(workdir / f"{kind}.log", "wb")  # noqa: SIM115 - the server writes it until stopped
    process = subprocess.Popen(
        command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/health", process, f"{kind} server")
    return process, url


class PeakRss:
    """The highest RSS of a process tree while the `with` block runs."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()

    def __enter__(self) -> PeakRss:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.05)

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def make_file(path: Path, mb: int) -> str:
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        for _ in range(mb):
            block = os.urandom(CHUNK)
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def measure(
    kind: str, workdir: Path, source: Path, expected: str, moto: subprocess.Popen[bytes], endpoint: str
) -> dict[str, float]:
    bucket = f"bench-{kind}-{time.monotonic_ns()}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "SHIPYARD_", "AWS_"))}
    env.update(CREDENTIALS, MLFLOW_S3_ENDPOINT_URL=endpoint, PYTHONWARNINGS="ignore",
               MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")  # fmt: skip
    process, url = start_server(kind, workdir, f"s3://{bucket}/artifacts", env)
    target = f"{url}{PROXY}/0/bench/artifacts/model/weights.bin"
    size_mb = source.stat().st_size / 1e6
    try:
        idle = rss_mb(process.pid)
        with PeakRss(process.pid) as peak:
            cpu_before = cpu_seconds(process.pid), cpu_seconds(moto.pid)
            started = time.perf_counter()
            with open(source, "rb") as stream:
                answer = requests.put(target, data=stream, timeout=3600)
            up = time.perf_counter() - started
            server_cpu, moto_cpu = cpu_seconds(process.pid) - cpu_before[0], cpu_seconds(moto.pid) - cpu_before[1]
            if answer.status_code != 200:
                log = (workdir / f"{kind}.log").read_text(errors="replace")[-3000:]
                raise SystemExit(f"{kind}: upload answered {answer.status_code} {answer.text[:500]}\n{log}")
            back = workdir / f"{kind}-back.bin"
            digest = hashlib.sha256()
            started = time.perf_counter()
            with requests.get(target, stream=True, timeout=3600) as response, open(back, "wb") as out:
                response.raise_for_status()
                for chunk in response.iter_content(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
            down = time.perf_counter() - started
            back.unlink()
        if digest.hexdigest() != expected:
            raise SystemExit(f"{kind}: the downloaded file differs from the uploaded one")
        return {"up_mb_s": size_mb / up, "down_mb_s": size_mb / down, "peak_rss_mb": peak.peak, "idle_rss_mb": idle,
                "up_server_cpu_s": server_cpu, "up_moto_cpu_s": moto_cpu}  # fmt: skip
    finally:
        stop_process(process, group=True)
        empty_bucket(endpoint, bucket)


def empty_bucket(endpoint: str, bucket: str) -> None:
    """Drop a round's objects and bucket: moto holds them in memory, and rounds add up."""
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for entry in page.get("Contents", []):
            client.delete_object(Bucket=bucket, Key=entry["Key"])
    client.delete_bucket(Bucket=bucket)


def best(runs: list[dict[str, float]]) -> dict[str, float]:
    """The best rates and the highest RSS over the rounds; the CPU figures of the fastest upload."""
    fastest = max(runs, key=lambda r: r["up_mb_s"])
    highest = {name: max(r[name] for r in runs) for name in ("down_mb_s", "peak_rss_mb", "idle_rss_mb")}
    return {**fastest, **highest}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=1024, help="size of the model file in MB (MiB) [1024]")
    parser.add_argument("--rounds", type=int, default=1, help="measure each server this many times, keep the best [1]")
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-artifacts-") as tmp:
        workdir = Path(tmp)
        port = free_port()
        moto = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        endpoint = f"http://127.0.0.1:{port}"
        try:
            wait_http(endpoint, moto, "moto server")
            os.environ.update(CREDENTIALS)
            source = workdir / "weights.bin"
            expected = make_file(source, args.mb)
            print(f"file: {args.mb} MiB through the proxy into moto S3 at {endpoint}, then back")
            runs: dict[str, list[dict[str, float]]] = {"shipyard": [], "mlflow": []}
            for round_ in range(max(args.rounds, 1)):
                order = ("shipyard", "mlflow") if round_ % 2 == 0 else ("mlflow", "shipyard")
                for kind in order:
                    runs[kind].append(measure(kind, workdir, source, expected, moto, endpoint))
            results = {kind: best(measured) for kind, measured in runs.items()}
        finally:
            stop_process(moto)
    for kind, r in results.items():
        print(
            f"{kind:9s} up {r['up_mb_s']:7.1f} MB/s   down {r['down_mb_s']:7.1f} MB/s   "
            f"server peak RSS {r['peak_rss_mb']:6.0f} MB (idle {r['idle_rss_mb']:.0f} MB)   "
            f"upload CPU: server {r['up_server_cpu_s']:.1f} s, moto {r['up_moto_cpu_s']:.1f} s"
        )
    s, m = results["shipyard"], results["mlflow"]
    print(
        f"shipyard / mlflow: up x{s['up_mb_s'] / m['up_mb_s']:.2f}, down x{s['down_mb_s'] / m['down_mb_s']:.2f}, "
        f"peak RSS x{s['peak_rss_mb'] / m['peak_rss_mb']:.2f}"
    )


if __name__ == "__main__":
    main()
