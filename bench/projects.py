"""Benchmark: `shipyard run` vs `mlflow run` on the same project, cold and warm environments.

The project: a small train.py that fits scikit-learn on iris (python_env.yaml: numpy +
scikit-learn) and logs a metric through the REST API of a `shipyard server` both launchers are
pointed at. For each launcher and env manager: seconds to a finished run with a cold environment
(an empty env root) and with a warm one (the second run), and for the warm run the seconds from
launch to the command's first line. Each launcher gets its own empty env root.

    .venv/bin/python bench/projects.py [--warm-repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

from benchkit import free_port, machine, stop_process

BIN = Path(sys.executable).parent
PYTHON = ".".join(map(str, sys.version_info[:2]))

TRAIN = """\
import json, os, sys, time, urllib.request
print("STARTED", time.time(), flush=True)
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
x, y = load_iris(return_X_y=True)
accuracy = LogisticRegression(max_iter=300, C=float(sys.argv[1])).fit(x, y).score(x, y)
body = {"run_id": os.environ["MLFLOW_RUN_ID"], "key": "accuracy", "value": accuracy,
        "timestamp": int(time.time() * 1000), "step": 0}
request = urllib.request.Request(os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/runs/log-metric",
                                 data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
urllib.request.urlopen(request).read()
"""


def write_project(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "MLproject").write_text(
        "name: bench\npython_env: python_env.yaml\n"
        "entry_points:\n  main:\n    parameters: {c: {type: float, default: 1.0}}\n    command: python train.py {c}\n"
    )
    (root / "python_env.yaml").write_text(
        f'python: "{PYTHON}"\nbuild_dependencies: [pip]\ndependencies: [numpy, scikit-learn]\n'
    )
    (root / "train.py").write_text(TRAIN)
    return root


def start_server(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(root / "server.log", "wb")  # noqa: SIM115 - open for the server's lifetime
    process = subprocess.Popen(
        [str(BIN / "shipyard"), "server", "--backend-store-uri", f"sqlite:///{root / 'server.db'}",
         "--default-artifact-root", str(root / "artifacts"), "--port", str(port), "--log-level", "warning"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/health", timeout=1):
                return process, url
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"shipyard server did not start:\n{(root / 'server.log').read_text()}")


def one_run(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float | None, str]:
    """(seconds to exit, seconds to the command's first line or None, last output lines)."""
    started = time.time()
    out = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    total = time.time() - started
    first = next((float(line.split()[1]) for line in out.stdout.splitlines() if line.startswith("STARTED")), None)
    tail = "\n".join((out.stdout + out.stderr).strip().splitlines()[-3:])
    if out.returncode != 0:
        return total, None, f"exit {out.returncode}: {tail}"
    return total, None if first is None else first - started, ""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warm-repeats", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-projects-"))
    project = write_project(work / "project")
    server, url = start_server(work)
    launchers = {
        f"{tool} run --env-manager {manager}": [str(BIN / tool), "run", str(project), "--env-manager", manager]
        for tool in ("shipyard", "mlflow")
        for manager in ("uv", "virtualenv")
    }
    results = {}
    try:
        for index, (name, command) in enumerate(launchers.items()):
            root = work / f"envs{index}"
            env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "SHIPYARD_"))}
            env |= {"MLFLOW_TRACKING_URI": url, "SHIPYARD_ENV_ROOT": str(root), "MLFLOW_ENV_ROOT": str(root),
                    "PYTHONWARNINGS": "ignore"}  # fmt: skip
            cold, _, error = one_run(command, env, work)
            warm = [one_run(command, env, work) for _ in range(args.warm_repeats)] if not error else []
            errors = [e for _, _, e in warm if e]
            results[name] = {
                "cold_s": round(cold, 2),
                "warm_s": round(statistics.median(t for t, _, _ in warm), 2) if warm else None,
                "warm_to_command_s": round(statistics.median(s for _, s, _ in warm if s is not None), 2)
                if warm and not errors
                else None,
                "error": error or (errors[0] if errors else ""),
            }
    finally:
        stop_process(server)
    print(machine())
    print(f"{'launcher':40} {'cold (s)':>9} {'warm (s)':>9} {'warm: launch->command (s)':>26}")
    for name, row in results.items():
        cells = [row["cold_s"], row["warm_s"], row["warm_to_command_s"]]
        print(
            f"{name:40} " + " ".join(f"{'-' if c is None else c:>{w}}" for c, w in zip(cells, (9, 9, 26), strict=True))
        )
        if row["error"]:
            print(textwrap.indent(str(row["error"]), "    ! "))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
