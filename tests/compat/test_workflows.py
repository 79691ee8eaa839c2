"""MLflow's documented workflows, run twice and compared: once with `import mlflow` (the real
package, the reference), once with `import shipyard as mlflow` where mlflow cannot be imported.

Each script under scripts/ (one per workflow: tracking quickstart, model registry, signatures,
custom python models, `MlflowClient` calls) picks its import from its first argument, works
against its own fresh tracking store (a sqlite file and an artifact folder in its own folder, or
a tracking server's URI) and writes a JSON report of what it stored and got back; the reports
must be equal. What legitimately differs is normalised in one place, scripts/compat_report.py.

NOTE: "mlflow not installed" is a subprocess whose bootstrap (bootstrap.py) installs a
`sys.meta_path` finder that makes every `mlflow` / `mlflow.*` import raise ModuleNotFoundError,
then runs the script with runpy. A second virtual environment without mlflow would be the
literal setting, but building one takes minutes, too slow for CI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
BOOTSTRAP = HERE / "bootstrap.py"
SCRIPTS = sorted(path.stem for path in (HERE / "scripts").glob("*.py") if path.stem != "compat_report")


def clean_env() -> dict[str, str]:
    """The caller's environment without any MLflow or Shipyard setting (the store is the script's)."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("MLFLOW_", "SHIPYARD_")) or name.startswith("SHIPYARD_TEST_")
    }


def run_script(target: str, script: str, root: Path, tracking_uri: str | None = None) -> dict[str, Any]:
    """Run scripts/<script>.py as `target` in `root` (its cwd); its report, as JSON."""
    root.mkdir(parents=True)
    report = root / "report.json"
    uri = tracking_uri or f"sqlite:///{root / 'store.db'}"
    command = [
        sys.executable,
        str(BOOTSTRAP),
        target,
        str(HERE / "scripts" / f"{script}.py"),
        uri,
        str(root),
        str(report),
    ]
    out = subprocess.run(command, cwd=root, env=clean_env(), capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, f"{script} as {target} failed:\n{out.stdout[-2000:]}\n{out.stderr[-6000:]}"
    result: dict[str, Any] = json.loads(report.read_text())
    return result


def test_every_workflow_has_a_script() -> None:
    assert SCRIPTS == [
        "client_calls",
        "datasets",
        "model_registry",
        "python_model",
        "signatures",
        "tracking_quickstart",
    ]


@pytest.mark.parametrize("script", SCRIPTS)
def test_shipyard_stores_and_returns_what_mlflow_does(script: str, tmp_path: Path) -> None:
    expected = run_script("mlflow", script, tmp_path / "mlflow")
    got = run_script("shipyard", script, tmp_path / "shipyard")
    assert len(expected) >= 10, f"{script}'s report is too small to compare anything: {sorted(expected)}"
    assert got == expected


def test_registry_through_a_server(tmp_path: Path, shipyard_servers: Any, mlflow_server: Any) -> None:
    """The registry script against `mlflow server` with mlflow (the reference), and against
    `shipyard server` both with Shipyard and with the real mlflow client."""
    expected = run_script("mlflow", "model_registry", tmp_path / "reference", mlflow_server.url)
    got = {
        client: run_script(client, "model_registry", tmp_path / client, shipyard_servers().url)
        for client in ("shipyard", "mlflow")
    }
    assert got == {"shipyard": expected, "mlflow": expected}


def test_the_bootstrap_makes_mlflow_unimportable(tmp_path: Path) -> None:
    script = tmp_path / "probe.py"
    script.write_text(
        "import json, sys\n"
        "try:\n    import mlflow.pyfunc\n    outcome = 'imported'\n"
        "except ModuleNotFoundError as error:\n    outcome = error.name\n"
        "import shipyard\n"
        "open(sys.argv[4], 'w').write(json.dumps({'outcome': outcome, 'shipyard': shipyard.__name__,"
        " 'loaded': sorted(m for m in sys.modules if m.split('.')[0] == 'mlflow')}))\n"
    )
    reports = {}
    for target in ("shipyard", "mlflow"):
        report = tmp_path / f"{target}.json"
        command = [sys.executable, str(BOOTSTRAP), target, str(script), "unused", str(tmp_path), str(report)]
        out = subprocess.run(command, cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-4000:]
        reports[target] = json.loads(report.read_text())
    assert reports["shipyard"] == {"outcome": "mlflow", "shipyard": "shipyard", "loaded": []}
    assert reports["mlflow"]["outcome"] == "imported"
    assert "mlflow.pyfunc" in reports["mlflow"]["loaded"]
