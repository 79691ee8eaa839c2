"""The tracking server never loads the data-science stack: pandas and pyarrow cost ~70 MB of
RSS at start (issue 17's RSS target) and no tracking, registry or UI route needs them."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import requests

from tests.server.conftest import Server

# Each library's compiled core: mapped into a process exactly when the library was imported.
HEAVY_LIBRARIES = {
    "pandas": "/pandas/_libs/",
    "pyarrow": "/pyarrow/lib",
    "sklearn": "/sklearn/",
    "onnxruntime": "/onnxruntime/",
    "torch": "/torch/lib/",
}


def loaded_libraries(pid: int) -> set[str]:
    """Which of HEAVY_LIBRARIES the live process `pid` has mapped (from /proc/PID/maps)."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return {name for name, marker in HEAVY_LIBRARIES.items() if marker in maps}


def test_import_of_the_server_app_loads_neither_pandas_nor_pyarrow() -> None:
    heavy = ("pandas", "pyarrow", "sklearn", "onnx", "torch", "boto3", "azure")
    code = (
        f"import sys, shipyard.server.app, shipyard.server.cli; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd="/")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_a_running_server_serving_pages_and_models_loads_none_of_them(
    server_factory: Callable[..., Server], tmp_path: Path
) -> None:
    server = server_factory()
    api = server.url + "/api/2.0/mlflow"
    experiment = requests.post(api + "/experiments/create", json={"name": "imports"}, timeout=30).json()
    run = requests.post(api + "/runs/create", json={"experiment_id": experiment["experiment_id"]}, timeout=30).json()[
        "run"
    ]["info"]
    # An MLmodel with a signature goes up through the proxy; its run page parses it.
    mlmodel = (
        "flavors:\n  python_function:\n    loader_module: shipyard.flavors.sklearn\n"
        'signature:\n  inputs: \'[{"type": "double", "name": "x"}]\'\n  outputs: null\n'
    )
    artifacts = f"/api/2.0/mlflow-artifacts/artifacts/{experiment['experiment_id']}/{run['run_id']}/artifacts"
    assert requests.put(server.url + artifacts + "/model/MLmodel", data=mlmodel.encode(), timeout=30).status_code == 200
    registry = api + "/registered-models/create"
    assert requests.post(registry, json={"name": "imports"}, timeout=30).status_code == 200
    version = requests.post(
        api + "/model-versions/create",
        json={"name": "imports", "source": f"runs:/{run['run_id']}/model", "run_id": run["run_id"]},
        timeout=60,
    )
    assert version.status_code == 200, version.text
    pages = [
        "/",
        f"/ui/experiments/{experiment['experiment_id']}",
        f"/ui/runs/{run['run_id']}",
        "/ui/models/imports/versions/1",
        "/api/2.0/mlflow/experiments/search?max_results=5",
    ]
    for page in pages:
        answer = requests.get(server.url + page, timeout=30)
        assert answer.status_code == 200, (page, answer.text[:500])
    assert server.process.poll() is None
    assert loaded_libraries(server.process.pid) == set(), server.output()[-2000:]
