"""`shipyard serve` of a local directory needs only the `serve` extra, as in a serving image.

The image installs Shipyard with `--no-deps` plus that extra (images/), so a core dependency
imported on the serving path (requests through the REST client settings, once) breaks every
container at start while every test in a full environment passes. This test blocks each core
dependency the extra leaves out, then resolves, loads and serves-ready a real model.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

import shipyard.sklearn

ROOT = Path(__file__).resolve().parents[2]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!;\[ ]", requirement, maxsplit=1)[0].strip().lower()


IMPORT_NAMES = {"pillow": "PIL", "pyyaml": "yaml", "prometheus-client": "prometheus_client"}


def left_out_of_the_serve_extra() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    serve = {_name(r) for r in project["optional-dependencies"]["serve"]}
    core = [_name(r) for r in project["dependencies"]]
    return sorted(IMPORT_NAMES.get(n, n.replace("-", "_")) for n in core if n not in serve)


def test_the_serving_path_imports_nothing_outside_the_serve_extra(tmp_path: Path) -> None:
    blocked = left_out_of_the_serve_extra()
    assert {"requests", "sqlalchemy", "docker"} <= set(blocked), blocked
    x = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.2], [0.1, 0.9]])
    model = LogisticRegression().fit(x, [0, 1, 1, 0])
    shipyard.sklearn.save_model(model, tmp_path / "model", input_example=x[:2])
    code = (
        "import sys\n"
        f"for name in {blocked!r}: sys.modules[name] = None\n"
        "from shipyard.commands import model_serving\n"
        "from shipyard.runtime import app, server\n"
        "from shipyard.runtime.model import resolve_model\n"
        "from shipyard.flavors.pyfunc import load_model\n"
        "from shipyard.settings import Settings\n"
        f"identity = resolve_model({str(tmp_path / 'model')!r}, name=None, settings=Settings())\n"
        "print(identity.name, load_model(identity.local_path).predict([[0.0, 1.0]]).tolist())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["model", "[0]"], out.stdout
