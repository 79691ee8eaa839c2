"""Runs one compat script as `__main__`: `python bootstrap.py TARGET SCRIPT TRACKING_URI ROOT REPORT`.

TARGET `shipyard` first installs a `sys.meta_path` finder that makes every `mlflow` / `mlflow.*`
import raise ModuleNotFoundError, so the script runs as it would where mlflow is not installed;
TARGET `mlflow` runs it unchanged. The script sees `sys.argv[1:]` = TARGET TRACKING_URI ROOT REPORT.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import runpy
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType


class BlockMlflow(importlib.abc.MetaPathFinder):
    """Refuses `mlflow` and its submodules, as a missing distribution would."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname == "mlflow" or fullname.startswith("mlflow."):
            raise ModuleNotFoundError(f"No module named {fullname!r} (blocked by the compat suite)", name=fullname)
        return None


def main() -> None:
    target, script, *rest = sys.argv[1:]
    if target not in ("mlflow", "shipyard"):
        raise SystemExit(f"TARGET must be 'mlflow' or 'shipyard', not {target!r}")
    if target == "shipyard":
        sys.meta_path.insert(0, BlockMlflow())
    # NOTE: runpy.run_path does not put the script's folder on sys.path; the scripts import the
    # report helper beside them.
    sys.path.insert(0, str(Path(script).resolve().parent))
    sys.argv = [script, target, *rest]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
