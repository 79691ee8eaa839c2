"""Benchmark: the web UI's experiment page with 10,000 runs, served by a real `shipyard server`.

Seeds one experiment with `--runs` runs (two params, one metric each) straight into the server's
sqlite file (the UI tests' seeding helper, one transaction), starts `shipyard server` on it and
times GET of the experiment page: the first page, a later page (through its page token), sorted
by a metric, and filtered by the search language. Reported per view: median and p95 wall time of
`--repeats` requests over localhost keep-alive (the server's time plus well under a millisecond).

    .venv/bin/python bench/ui.py [--runs 10000] [--repeats 20]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from benchkit import free_port, machine, stop_process

# NOTE: the seeding helper lives with the UI tests; this script runs as `python bench/ui.py`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "server"))
from ui_support import seed_runs  # noqa: E402

BIN = Path(sys.executable).parent
TARGET_MS = 300.0


def timed(session: requests.Session, url: str, params: dict[str, str], repeats: int) -> tuple[float, float, str]:
    """(median ms, p95 ms, body of the last answer) of `repeats` GETs after one warm-up."""
    session.get(url, params=params, timeout=60).raise_for_status()
    times, body = [], ""
    for _ in range(repeats):
        start = time.perf_counter()
        answer = session.get(url, params=params, timeout=60)
        times.append((time.perf_counter() - start) * 1000)
        answer.raise_for_status()
        body = answer.text
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))], body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        db_uri = f"sqlite:///{Path(work) / 'shipyard.db'}"
        started = time.perf_counter()
        experiment_id, _ = seed_runs(db_uri, "bench-ui", args.runs)
        print(f"seeded {args.runs} runs in {time.perf_counter() - started:.1f} s")
        port = free_port()
        command = [str(BIN / "shipyard"), "server", "--backend-store-uri", db_uri, "--port", str(port)]
        command += ["--default-artifact-root", str(Path(work) / "artifacts"), "--log-level", "warning"]
        process = subprocess.Popen(command, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if requests.get(base + "/health", timeout=2).status_code == 200:
                        break
                except requests.RequestException:
                    time.sleep(0.2)
            url = f"{base}/ui/experiments/{experiment_id}"
            with requests.Session() as session:
                first = session.get(url, timeout=60).text
                token = first.split('rel="next" href="', 1)[1].split('"', 1)[0].split("page_token=", 1)[1]
                token = requests.utils.unquote(token.split("&", 1)[0])
                views = {
                    "first page (100 runs, newest first)": {},
                    "second page (keyset token)": {"page_token": token},
                    "sorted by metrics.loss ASC": {"order": "metrics.`loss` ASC"},
                    "filtered: params.alpha = '3' and metrics.loss < 0.5": {
                        "filter": "params.alpha = '3' and metrics.loss < 0.5"
                    },
                    "500 runs per page": {"size": "500"},
                }
                print(machine())
                print(f"experiment page, {args.runs} runs, {args.repeats} requests each (target < {TARGET_MS:.0f} ms)")
                for name, params in views.items():
                    median, p95, body = timed(session, url, params, args.repeats)
                    rows = body.count('class="run-link"')
                    verdict = "ok" if median < TARGET_MS else "SLOW"
                    print(f"  {name:<52} median {median:7.1f} ms  p95 {p95:7.1f} ms  rows {rows:4d}  {verdict}")
        finally:
            stop_process(process)


if __name__ == "__main__":
    main()
