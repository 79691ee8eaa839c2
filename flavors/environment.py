"""Environment files of a model directory and the versions a model was saved with.

`requirements.txt`, `python_env.yaml` and `conda.yaml` follow MLflow's layout, pinned to the
versions installed when the model is saved, so `serve`/`build-docker` can recreate them.
"""

from __future__ import annotations

import platform
import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import yaml

from shipyard.version import __version__

REQUIREMENTS_FILE = "requirements.txt"
PYTHON_ENV_FILE = "python_env.yaml"
CONDA_ENV_FILE = "conda.yaml"


def installed_version(distribution: str) -> str | None:
    """Installed version of a distribution, read from metadata (the package is not imported)."""
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def pip_pin(distribution: str) -> str:
    """`name==version` for an installed distribution; a local label (+cpu) is dropped, since
    PyPI cannot serve it."""
    found = installed_version(distribution)
    if found is None:
        return distribution
    return f"{distribution}=={found.split('+', 1)[0]}"


def python_version() -> str:
    return platform.python_version()


def write_env_files(
    model_dir: Path,
    distributions: list[str],
    *,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
) -> dict[str, str]:
    """Write the three env files; returns python_function's `env` entry."""
    if pip_requirements is not None:
        reqs = list(pip_requirements)
    else:
        reqs = [f"shipyard=={__version__}"] + [pip_pin(d) for d in distributions]
    reqs += list(extra_pip_requirements or [])
    reqs = list(dict.fromkeys(reqs))
    (model_dir / REQUIREMENTS_FILE).write_text("\n".join(reqs) + "\n")
    build = [pip_pin("pip"), pip_pin("setuptools"), "wheel"]
    python_env: dict[str, Any] = {
        "python": python_version(),
        "build_dependencies": build,
        "dependencies": [f"-r {REQUIREMENTS_FILE}"],
    }
    (model_dir / PYTHON_ENV_FILE).write_text(yaml.safe_dump(python_env, sort_keys=False))
    pip_version = installed_version("pip")
    conda = {
        "channels": ["conda-forge"],
        "dependencies": [
            f"python={python_version()}",
            f"pip<={pip_version}" if pip_version else "pip",
            {"pip": reqs},
        ],
        "name": "shipyard-env",
    }
    (model_dir / CONDA_ENV_FILE).write_text(yaml.safe_dump(conda, sort_keys=False))
    return {"conda": CONDA_ENV_FILE, "virtualenv": PYTHON_ENV_FILE}


def version_differences(recorded: dict[str, str | None]) -> list[str]:
    """Human lines `name: saved with X, running Y` for each recorded version that differs.

    Keys are distribution names (`python` for the interpreter)."""
    lines = []
    for name, saved in recorded.items():
        if not saved:
            continue
        running = python_version() if name == "python" else installed_version(name)
        if running is None:
            lines.append(f"{name}: saved with {saved}, not installed here")
        elif _norm(running) != _norm(saved):
            lines.append(f"{name}: saved with {saved}, running {running}")
    return lines


def _norm(v: str) -> str:
    return re.sub(r"\+.*$", "", str(v)).strip()


__all__ = [
    "CONDA_ENV_FILE",
    "PYTHON_ENV_FILE",
    "REQUIREMENTS_FILE",
    "installed_version",
    "pip_pin",
    "python_version",
    "version_differences",
    "write_env_files",
]
