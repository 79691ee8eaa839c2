"""Import-time benchmark: what `import shipyard`, the CLI and serving a local directory cost.

Each snippet runs in a fresh interpreter (`python -X importtime`), N rounds interleaved; prints
the median of the cumulative import time of the snippet's top-level modules and of the process
wall time, the heavy libraries each snippet loaded, and MLflow's `import mlflow` alongside.

Usage, from outside the repository root (the root's sklearn.py would shadow scikit-learn):

    cd /tmp && /work/main/.venv/bin/python /work/main/bench/imports.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

HEAVY = ("sqlalchemy", "alembic", "pandas", "pydantic_settings", "docker", "requests", "sklearn", "mlflow")
SNIPPETS = {
    "import shipyard": "import shipyard",
    "import shipyard.cli": "import shipyard.cli",
    "serve a local dir (CLI + resolve)": (
        "import shipyard.cli; cli = shipyard.cli.cli; cli.get_command(None, 'serve'); "
        "from shipyard.registry.uris import resolve_model_uri; from shipyard.settings import Settings; "
        "resolve_model_uri({folder!r}, settings=Settings())"
    ),
    "import mlflow (comparison)": "import mlflow",
}
_LINE = re.compile(r"^import time:\s+\d+ \|\s+(\d+) \| (\S.*)$")


def run(code: str) -> tuple[float, float, list[str]]:
    """(top-level cumulative import seconds, wall seconds, heavy modules loaded)."""
    probe = f"{code}\nimport sys; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", probe], capture_output=True, text=True,
        check=True, cwd=tempfile.gettempdir(),
    )  # fmt: skip
    wall = time.perf_counter() - start
    top = 0
    for line in out.stderr.splitlines():
        match = _LINE.match(line)
        if match and not match.group(2).startswith(" "):  # top-level import: no indentation
            top += int(match.group(1))
    heavy = [m for m in out.stdout.strip().split(",") if m]
    return top / 1e6, wall, heavy


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    print(f"machine: {platform.platform()}, {os.cpu_count()} cpus, python {sys.version.split()[0]}")
    folder = tempfile.mkdtemp(prefix="bench-imports-")
    codes = {name: code.format(folder=folder) for name, code in SNIPPETS.items()}
    results: dict[str, list[tuple[float, float, list[str]]]] = {name: [] for name in codes}
    for _ in range(args.rounds):
        for name, code in codes.items():  # interleaved: load changes hit every snippet alike
            results[name].append(run(code))
    mlflow = statistics.median(r[0] for r in results["import mlflow (comparison)"])
    print(f"{'snippet':36s} {'imports (median)':>17s} {'process wall':>13s} {'vs mlflow':>10s}  heavy modules loaded")
    for name, rows in results.items():
        imports = statistics.median(r[0] for r in rows)
        wall = statistics.median(r[1] for r in rows)
        print(f"{name:36s} {imports:15.3f} s {wall:11.3f} s {imports / mlflow:9.0%}  {','.join(rows[0][2]) or '-'}")


if __name__ == "__main__":
    main()
