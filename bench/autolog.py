"""Benchmark: what autolog adds to `fit`, Shipyard vs MLflow, in one run of this script.

Three cases (a small LogisticRegression, a RandomForestClassifier with 100 trees, a GridSearchCV
over 12 candidates), each timed bare, with `shipyard.autolog()` and with `mlflow.autolog()` on
MLflow's own sqlite store. Each mode runs in its own interpreter (patches are process-wide), one
warm-up fit first, then `--repeats` fits; the figure is the median seconds per fit, and the added
time is that minus the bare median. Target: Shipyard adds at most a fifth of what MLflow adds.

All of Shipyard's added time is on the training thread (the run, params, metrics computed on the
training data, the model written and logged); params, metrics and tags then go through the
non-blocking writer.

    .venv/bin/python bench/autolog.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from benchkit import machine

MODES = ("bare", "shipyard", "mlflow")
CASES = ("logistic_regression", "random_forest_100", "grid_search_12")


def _estimator(case: str) -> Any:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    if case == "logistic_regression":
        return LogisticRegression(max_iter=500)
    if case == "random_forest_100":
        return RandomForestClassifier(n_estimators=100, random_state=0)
    grid = {"C": [0.01, 0.1, 1.0, 10.0], "class_weight": [None, "balanced", {0: 1.0, 1: 2.0}]}  # 12 candidates
    return GridSearchCV(LogisticRegression(max_iter=500), grid, cv=3)


def worker(mode: str, repeats: int, workdir: Path) -> dict[str, list[float]]:
    """Seconds per fit for each case, in this interpreter, with `mode`'s autolog on."""
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    os.chdir(workdir)
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=1000, n_features=20, random_state=0)
    if mode == "shipyard":
        import shipyard

        shipyard.set_tracking_uri(f"sqlite:///{workdir / 'shipyard.db'}")
        shipyard.autolog()
    elif mode == "mlflow":
        import mlflow

        mlflow.set_tracking_uri(f"sqlite:///{workdir / 'mlflow.db'}")
        mlflow.autolog()
    times: dict[str, list[float]] = {}
    for case in CASES:
        _estimator(case).fit(X, y)  # warm-up: imports, the first run, the store's tables
        times[case] = []
        for _ in range(repeats):
            estimator = _estimator(case)
            start = time.perf_counter()
            estimator.fit(X, y)
            times[case].append(time.perf_counter() - start)
    if mode == "shipyard":
        import shipyard

        shipyard.flush_async_logging()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--worker", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print("RESULT " + json.dumps(worker(args.worker, args.repeats, args.workdir)))
        return
    medians: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-autolog-") as tmp:
        for mode in MODES:
            folder = Path(tmp) / mode
            folder.mkdir()
            command = [
                sys.executable,
                __file__,
                "--worker",
                mode,
                "--repeats",
                str(args.repeats),
                "--workdir",
                str(folder),
            ]
            done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=folder)
            line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
            times = json.loads(line.removeprefix("RESULT "))
            medians[mode] = {case: statistics.median(values) for case, values in times.items()}
    print(machine())
    print(f"median seconds per fit, {args.repeats} fits per case after one warm-up")
    print(f"{'case':<22}{'bare':>9}{'shipyard':>10}{'mlflow':>9}{'+shipyard':>11}{'+mlflow':>10}{'ratio':>8}")
    for case in CASES:
        bare, ours, theirs = (medians[m][case] for m in MODES)
        added_ours, added_theirs = ours - bare, theirs - bare
        ratio = added_ours / added_theirs if added_theirs > 0 else float("nan")
        print(f"{case:<22}{bare:>9.3f}{ours:>10.3f}{theirs:>9.3f}{added_ours:>11.3f}{added_theirs:>10.3f}{ratio:>8.2f}")
    print("ratio = Shipyard's added time / MLflow's added time (target: <= 0.20)")


if __name__ == "__main__":
    main()
