"""Following the registry under load: `shipyard serve -m models:/iris/Production` answers a c=64
one-row load for `--duration` seconds while the script moves Production three times; the second
move names a broken version (a python_model whose predict raises on its input example, so its
warm-up fails and it must never take traffic).

Each iris version is trained on labels shifted by its index, so one row's answer names the
version that gave it (v1 -> 0, v2 -> 1, v4 -> 2). Prints: requests answered, non-200 answers,
the time from each move to the first answer from the new version, p99 in steady state and
during swaps (a swap window: from the move to 1 s after the first new answer, or to the failed
target being reported), and RSS every 5 s.

The load runs in this process (bench/loadgen.py: raw asyncio streams, 64 connections) on the same machine as the
server, so on a small machine the two share the cores. Usage (from outside the repository root):

    .venv/bin/python bench/follow.py [--duration 60] [--poll-interval 2] [--connections 64]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import benchkit
import httpx
import orjson
from loadgen import run_until

BROKEN_SOURCE = '''
from shipyard.flavors.python_model import PythonModel


class Broken(PythonModel):
    """A release that cannot answer: predict raises (its warm-up fails)."""

    def predict(self, context, model_input, params=None):
        raise RuntimeError("broken release")
'''
COLUMNS = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
ROW = {"dataframe_split": {"columns": COLUMNS, "data": [[5.1, 3.5, 1.4, 0.2]]}}


def build_versions(root: Path) -> list[Path]:
    """Three good iris versions (labels shifted by 0, 1, 2) and one broken one, in move order."""
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    import shipyard

    x, y = load_iris(return_X_y=True, as_frame=True)
    paths = []
    for shift in (0, 1):
        model = LogisticRegression(max_iter=500).fit(x, (y + shift) % 3)
        paths.append(root / f"iris-{shift}")
        shipyard.sklearn.save_model(model, paths[-1], input_example=x.head(2))
    source = root / "broken_model.py"
    source.write_text(textwrap.dedent(BROKEN_SOURCE))
    sys.path.insert(0, str(root))
    import broken_model  # type: ignore[import-not-found]

    paths.append(root / "broken")
    shipyard.pyfunc.save_model(
        paths[-1], python_model=broken_model.Broken(), code_paths=[source], input_example=x.head(2)
    )
    model = LogisticRegression(max_iter=500).fit(x, (y + 2) % 3)
    paths.append(root / "iris-2")
    shipyard.sklearn.save_model(model, paths[-1], input_example=x.head(2))
    return paths


def load(url: str, connections: int, until: float, out: list[tuple[float, float, int, Any]]) -> None:
    """`connections` keep-alive connections in a closed loop (bench/loadgen.py: raw asyncio
    streams, cheap enough that the client is not what the figures measure)."""
    for answer in run_until(url, "/invocations", orjson.dumps(ROW), connections, until):
        value = orjson.loads(answer.body)["predictions"][0] if answer.status == 200 else None
        out.append((answer.started, answer.started + answer.seconds, answer.status, value))


def p99(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=100)[98] * 1000 if len(latencies) >= 100 else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--poll-interval", type=float, default=2)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    print(benchkit.machine())
    import shipyard

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        db = f"sqlite:///{tmp / 'registry.db'}"
        shipyard.set_tracking_uri(db)
        client = shipyard.MlflowClient()
        for path in build_versions(tmp):
            shipyard.register_model(str(path), "iris")
        client.transition_model_version_stage("iris", "1", "Production")
        port = benchkit.free_port()
        env = {
            "SHIPYARD_TRACKING_URI": db,
            "SHIPYARD_CACHE_DIR": str(tmp / "cache"),
            "PATH": str(Path(sys.executable).parent),
        }
        log = open(tmp / "serve.log", "wb")  # noqa: SIM115 - closed after the server stops
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "shipyard"), "serve", "-m", "models:/iris/Production", "-p", str(port),
             "--poll-interval", str(args.poll_interval), "--no-access-log"],
            stdout=log, stderr=subprocess.STDOUT, cwd=tmp, env=env,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise SystemExit(f"server not ready:\n{(tmp / 'serve.log').read_text()[-3000:]}")
        rss: list[tuple[float, float]] = []
        moves: list[tuple[float, str]] = []
        failed_seen: list[float] = []
        started = time.monotonic()
        until = started + args.duration
        stop = threading.Event()

        def sample_and_move() -> None:
            plan = [(args.duration * k / 4, str(k + 1)) for k in (1, 2, 3)]  # v2, v3 (broken), v4
            next_rss = started
            while not stop.is_set():
                now = time.monotonic()
                if now >= next_rss:
                    rss.append((now - started, benchkit.rss_mb(server.pid)))
                    next_rss += 1.0
                if plan and now - started >= plan[0][0]:
                    _, version = plan.pop(0)
                    moves.append((time.monotonic(), version))
                    client.transition_model_version_stage("iris", version, "Production", archive_existing_versions=True)
                if moves and moves[-1][1] == "3" and not failed_seen:
                    doc = httpx.get(url + "/version", headers={"Accept": "application/json"}, timeout=5).json()
                    if doc.get("failed_target"):
                        failed_seen.append(time.monotonic())
                time.sleep(0.05)

        sampler = threading.Thread(target=sample_and_move)
        sampler.start()
        results: list[tuple[float, float, int, Any]] = []
        load(url, args.connections, until, results)
        stop.set()
        sampler.join()
        final = httpx.get(url + "/version", headers={"Accept": "application/json"}, timeout=5).json()
        benchkit.stop_process(server)
        log.close()

    answers = {"1": 0, "2": 1, "4": 2}
    windows = []
    print(
        f"requests answered: {len(results)} in {args.duration:.0f} s, c={args.connections}, poll {args.poll_interval} s"
    )
    non200 = [r for r in results if r[2] != 200]
    print(f"non-200 answers: {len(non200)} {sorted({r[2] for r in non200})}")
    for moved, version in moves:
        if version in answers:
            first = min((r[1] for r in results if r[1] >= moved and r[3] == answers[version]), default=None)
            shown = "never" if first is None else f"{first - moved:.2f} s"
            print(f"move to v{version}: first answer from v{version} after {shown}")
            windows.append((moved, (first if first is not None else moved) + 1.0))
        else:
            seen = failed_seen[0] if failed_seen else None
            wrong = sum(1 for r in results if r[1] >= moved and r[3] not in (None, *answers.values()))
            shown = "never" if seen is None else f"{seen - moved:.2f} s"
            print(f"move to v{version} (broken): failed target reported after {shown}; answers from it: {wrong}")
            windows.append((moved, (seen if seen is not None else moved) + 1.0))
    in_swap = [r[1] - r[0] for r in results if any(a <= r[0] <= b for a, b in windows)]
    steady = [r[1] - r[0] for r in results if not any(a <= r[0] <= b for a, b in windows)]
    print(f"p99 steady: {p99(steady):.1f} ms ({len(steady)} requests)")
    print(f"p99 during swaps: {p99(in_swap):.1f} ms ({len(in_swap)} requests)")
    print("RSS MB every 5 s: " + ", ".join(f"{t:.0f}s={mb:.0f}" for t, mb in rss[::5]))
    print(f"final: version {final['model']['version']}, failed_target {final['failed_target']}")


if __name__ == "__main__":
    main()
