"""`shipyard db import`: an MLflow 3 database made by the real mlflow, imported and served.

The source database is written by mlflow itself in a subprocess (experiments, runs with metric
history and a dataset input, a registered sklearn model with two versions, a stage, an alias and
tags); what mlflow reads back from it is the reference Shipyard's copy is compared with.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from shipyard import Client
from shipyard.exceptions import InvalidState
from shipyard.registry.sql_store import SqlRegistryStore
from shipyard.tracking.sql_store import SqlTrackingStore

BIN = Path(sys.executable).parent

MAKE_MLFLOW_DB = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import mlflow
    from mlflow import MlflowClient
    from sklearn.linear_model import LogisticRegression

    db, out = sys.argv[1], sys.argv[2]
    mlflow.set_tracking_uri(f"sqlite:///{db}")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    mlflow.set_experiment("imported-exp")
    mlflow.set_experiment_tag("team", "ml")
    client = MlflowClient()
    for c in (0.01, 10.0):
        with mlflow.start_run(run_name=f"train-{c}"):
            mlflow.log_param("C", c)
            for step in range(5):
                mlflow.log_metric("loss", 1.0 / (step + 1) + c, step=step)
            mlflow.set_tag("kind", "lr")
            mlflow.log_input(mlflow.data.from_numpy(X, targets=y, name="train-set"), context="training")
            model = LogisticRegression(C=c).fit(X, y)
            mlflow.sklearn.log_model(model, name="model", registered_model_name="clf", input_example=X[:2])
    client.transition_model_version_stage("clf", "1", "Production")
    client.set_registered_model_alias("clf", "champion", "2")
    client.set_registered_model_tag("clf", "owner", "team-ml")
    client.set_model_version_tag("clf", "1", "validated", "yes")
    experiment = client.get_experiment_by_name("imported-exp")
    runs = client.search_runs([experiment.experiment_id])
    reference = {
        "experiment_id": experiment.experiment_id,
        "runs": {
            r.info.run_id: {
                "name": r.info.run_name,
                "params": r.data.params,
                "tags": {k: v for k, v in r.data.tags.items()},
                "loss": [(m.value, m.step, m.timestamp) for m in client.get_metric_history(r.info.run_id, "loss")],
                "dataset_inputs": client.get_run(r.info.run_id).inputs.to_dictionary()["dataset_inputs"],
                "model_outputs": [o.to_dictionary() for o in client.get_run(r.info.run_id).outputs.model_outputs],
            }
            for r in runs
        },
        "versions": {
            v.version: {"stage": v.current_stage, "run_id": v.run_id, "tags": v.tags}
            for v in client.search_model_versions("name = 'clf'")
        },
        "alias_version": client.get_model_version_by_alias("clf", "champion").version,
        "model_tags": client.get_registered_model("clf").tags,
        "inputs": X[:8].tolist(),
        "predictions": np.asarray(mlflow.pyfunc.load_model("models:/clf@champion").predict(X[:8])).tolist(),
    }
    json.dump(reference, open(out, "w"))
    """
)


@dataclass(frozen=True)
class MlflowHistory:
    folder: Path
    url: str
    reference: dict[str, Any]


def _clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without tracking variables that would redirect either side."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "SHIPYARD_"))}
    return {**env, **extra}


@pytest.fixture(scope="module")
def mlflow_history(tmp_path_factory: pytest.TempPathFactory) -> MlflowHistory:
    """An MLflow 3 database and its `mlruns` artifacts, written once by the real mlflow."""
    folder = tmp_path_factory.mktemp("mlflow-history")
    (folder / "make.py").write_text(MAKE_MLFLOW_DB)
    subprocess.run(
        [sys.executable, "make.py", str(folder / "mlflow.db"), str(folder / "reference.json")],
        cwd=folder,
        env=_clean_env(),
        capture_output=True,
        check=True,
        timeout=300,
    )
    reference = json.loads((folder / "reference.json").read_text())
    return MlflowHistory(folder, f"sqlite:///{folder / 'mlflow.db'}", reference)


def _shipyard(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "shipyard"), *args], cwd=cwd, env=env or _clean_env(), capture_output=True, text=True, timeout=300
    )


def _row_counts(db: Path) -> dict[str, int]:
    tables = ["experiments", "experiment_tags", "runs", "params", "tags", "metrics", "latest_metrics"]
    tables += ["registered_models", "registered_model_tags", "model_versions", "model_version_tags"]
    tables += ["registered_model_aliases"]
    with contextlib.closing(sqlite3.connect(db)) as connection:
        return {t: connection.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _serving(model_uri: str, cwd: Path, env: dict[str, str]) -> Iterator[str]:
    """`shipyard serve -m model_uri` on a free port until its /health answers 200."""
    port = _free_port()
    log = cwd / f"serve-{port}.log"
    with open(log, "wb") as sink:
        process = subprocess.Popen(
            [str(BIN / "shipyard"), "serve", "-m", model_uri, "-p", str(port)],
            cwd=cwd,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        assert process.wait(30) == 0, log.read_text()[-3000:]


def _summary_counts(stdout: str) -> dict[str, tuple[int, int]]:
    """`  runs   2 added, 0 already there` lines -> {"runs": (2, 0)}."""
    counts = {}
    for line in stdout.splitlines():
        kind, sep, rest = line.strip().partition("  ")
        if sep and " added, " in rest:
            added, _, present = rest.strip().partition(" added, ")
            counts[kind] = (int(added), int(present.split()[0]))
    return counts


def test_mlflow3_database_imports_and_the_alias_serves_the_same_predictions(
    mlflow_history: MlflowHistory, tmp_path: Path
) -> None:
    target = tmp_path / "shipyard.db"
    first = _shipyard("db", "import", "--from", mlflow_history.url, "--to", f"sqlite:///{target}", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""  # NOTE: no progress bar when stderr is not a terminal
    ref = mlflow_history.reference
    counts = _summary_counts(first.stdout)
    assert counts["runs"] == (len(ref["runs"]), 0)
    assert counts["metrics"] == (sum(len(r["loss"]) for r in ref["runs"].values()), 0)
    assert counts["versions"] == (len(ref["versions"]), 0)
    assert counts["aliases"] == (1, 0)
    assert counts["experiments"] == (1, 1)  # MLflow's Default is Shipyard's experiment 0

    client = Client(tracking_uri=f"sqlite:///{target}")
    experiment = client.get_experiment_by_name("imported-exp")
    assert experiment is not None and experiment.experiment_id == ref["experiment_id"]  # the id is kept
    assert experiment.tags["team"] == "ml"
    for run_id, expected in ref["runs"].items():
        run = client.get_run(run_id)  # run ids are kept
        assert run.info.run_name == expected["name"]
        assert run.data.params == expected["params"]
        assert run.data.tags == expected["tags"]
        # the inputs and outputs land in the run's own tables, as MLflow reports them
        assert run.inputs.to_dictionary()["dataset_inputs"] == expected["dataset_inputs"]
        assert [d.dataset.name for d in run.inputs.dataset_inputs] == ["train-set"]
        assert {t.key: t.value for t in run.inputs.dataset_inputs[0].tags}["mlflow.data.context"] == "training"
        assert [o.to_dictionary() for o in run.outputs.model_outputs] == expected["model_outputs"] != []
        (found,) = client.search_runs(
            [experiment.experiment_id], f"datasets.name = 'train-set' AND run_id = '{run_id}'"
        )
        assert found.info.run_id == run_id
        history = client.get_metric_history(run_id, "loss")
        assert [(m.value, m.step, m.timestamp) for m in history] == [tuple(h) for h in expected["loss"]]
    for number, expected in ref["versions"].items():
        version = client.get_model_version("clf", number)
        assert (version.current_stage, version.run_id, version.tags) == (
            expected["stage"],
            expected["run_id"],
            expected["tags"],
        )
        assert version.digest and version.digest.startswith("sha256:")
    assert str(client.get_model_version_by_alias("clf", "champion").version) == str(ref["alias_version"])
    assert client.get_registered_model("clf").tags == ref["model_tags"]

    before = _row_counts(target)
    second = _shipyard("db", "import", "--from", mlflow_history.url, "--to", f"sqlite:///{target}", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert all(added == 0 for added, _ in _summary_counts(second.stdout).values()), second.stdout
    assert "Nothing new" in second.stdout
    assert _row_counts(target) == before

    env = _clean_env(SHIPYARD_TRACKING_URI=f"sqlite:///{target}")
    with _serving("models:/clf@champion", tmp_path, env) as url:
        reply = httpx.post(f"{url}/invocations", json={"inputs": ref["inputs"]}, timeout=30)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"predictions": ref["predictions"]}


def test_moved_artifacts_are_found_with_artifacts_dir(mlflow_history: MlflowHistory, tmp_path: Path) -> None:
    moved = tmp_path / "moved-mlruns"
    shutil.copytree(mlflow_history.folder / "mlruns", moved)
    target = f"sqlite:///{tmp_path / 'shipyard.db'}"
    env = _clean_env(SHIPYARD_TRACKING_URI=target)  # the current tracking URI is the target
    done = _shipyard("db", "import", "--from", mlflow_history.url, "--artifacts", str(moved), cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    client = Client(tracking_uri=target)
    run = client.get_run(next(iter(mlflow_history.reference["runs"])))
    assert run.info.artifact_uri.startswith(moved.resolve().as_uri())
    resolved = client.resolve("models:/clf/Production")
    assert (resolved.local_path / "MLmodel").is_file()


def test_missing_artifacts_name_the_version_and_path_and_write_nothing(
    mlflow_history: MlflowHistory, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    target = tmp_path / "shipyard.db"
    done = _shipyard(
        "db", "import", "--from", mlflow_history.url, "--to", f"sqlite:///{target}", "--artifacts", str(empty),
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1
    assert "model 'clf' version 1: no MLmodel file in" in done.stderr and str(empty) in done.stderr
    assert "Traceback" not in done.stderr
    assert not target.exists()


def test_bad_sources_and_targets_are_clear_errors(mlflow_history: MlflowHistory, tmp_path: Path) -> None:
    shipyard_db = f"sqlite:///{tmp_path / 'shipyard.db'}"
    Client(tracking_uri=shipyard_db).create_experiment("mine")
    cases = {
        ("--from", shipyard_db, "--to", f"sqlite:///{tmp_path / 'b.db'}"): "is not an MLflow tracking database",
        ("--from", f"sqlite:///{tmp_path / 'none.db'}", "--to", shipyard_db): "no sqlite database file at",
        ("--from", "postgresql://nobody@127.0.0.1:1/x", "--to", shipyard_db): "cannot open the database",
        ("--from", "not a url", "--to", shipyard_db): "is not a SQLAlchemy database URL",
        ("--from", mlflow_history.url, "--to", "http://127.0.0.1:1"): "is not a database",
    }
    for args, message in cases.items():
        done = _shipyard("db", "import", *args, cwd=tmp_path)
        assert done.returncode == 1, (args, done.stdout)
        assert message in done.stderr and "Traceback" not in done.stderr, (args, done.stderr)
    assert not (tmp_path / "none.db").exists()


def test_server_ui_and_stores_refuse_an_mlflow_database(mlflow_history: MlflowHistory, tmp_path: Path) -> None:
    copy = tmp_path / "mlflow.db"
    shutil.copy(mlflow_history.folder / "mlflow.db", copy)
    url = f"sqlite:///{copy}"
    for command in ("server", "ui"):
        done = _shipyard(command, "--backend-store-uri", url, "-p", str(_free_port()), cwd=tmp_path)
        assert done.returncode == 1, done.stdout
        assert "is an MLflow tracking database" in done.stderr, done.stderr
        assert f"shipyard db import --from {url}" in done.stderr
        assert "Traceback" not in done.stderr and "Can't locate revision" not in done.stderr
    for open_store in (SqlTrackingStore.from_uri, SqlRegistryStore.open):
        with pytest.raises(InvalidState, match="shipyard db import --from"):
            open_store(url)


def test_import_into_each_backend_keeps_new_ids_clear_of_imported_ones(
    mlflow_history: MlflowHistory, tmp_path: Path, db_uri: str
) -> None:
    """On PostgreSQL the imported experiment ids must move the id sequence on (else the next
    experiment created collides); a second import adds nothing on either backend."""
    first = _shipyard("db", "import", "--from", mlflow_history.url, "--to", db_uri, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert _summary_counts(first.stdout)["versions"][0] + _summary_counts(first.stdout)["versions"][1] == 2
    client = Client(tracking_uri=db_uri)
    imported = client.get_experiment_by_name("imported-exp")
    assert imported is not None
    created = client.create_experiment(f"after-import-{tmp_path.name}")
    assert int(created) > int(imported.experiment_id)
    again = _shipyard("db", "import", "--from", mlflow_history.url, "--to", db_uri, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "Nothing new" in again.stdout


MLFLOW2_COLUMNS = {
    "alembic_version": "version_num",
    "experiments": "experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time",
    "experiment_tags": "key, value, experiment_id",
    "runs": "run_uuid, name, source_type, source_name, entry_point_name, user_id, status, start_time, end_time, "
    "source_version, lifecycle_stage, artifact_uri, experiment_id, deleted_time",
    "params": "key, value, run_uuid",
    "metrics": "key, value, timestamp, run_uuid, step, is_nan",
    "latest_metrics": "key, value, timestamp, step, is_nan, run_uuid",
    "tags": "key, value, run_uuid",
    "registered_models": "name, creation_time, last_updated_time, description",
    "registered_model_tags": "key, value, name",
    # NOTE: MLflow 2 recorded the version's folder as its source; `storage_location` came later.
    "model_versions": "name, version, creation_time, last_updated_time, description, user_id, current_stage, "
    "storage_location AS source, run_id, status, status_message, run_link",
    "model_version_tags": "key, value, name, version",
    "registered_model_aliases": "alias, version, name",
}
"""The MLflow 2.x table and column set (no workspaces, logged models, datasets or storage_location)."""


def test_a_database_with_mlflow2_columns_imports(mlflow_history: MlflowHistory, tmp_path: Path) -> None:
    older = tmp_path / "mlflow2.db"
    with contextlib.closing(sqlite3.connect(older)) as connection:
        connection.execute("ATTACH DATABASE ? AS src", (str(mlflow_history.folder / "mlflow.db"),))
        for table, columns in MLFLOW2_COLUMNS.items():
            connection.execute(f"CREATE TABLE main.{table} AS SELECT {columns} FROM src.{table}")
        connection.commit()
    target = f"sqlite:///{tmp_path / 'shipyard.db'}"
    done = _shipyard("db", "import", "--from", f"sqlite:///{older}", "--to", target, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    counts = _summary_counts(done.stdout)
    assert counts["runs"] == (2, 0) and counts["versions"] == (2, 0) and counts["aliases"] == (1, 0)
    assert counts["datasets"] == (0, 0)
    client = Client(tracking_uri=target)
    assert client.get_model_version("clf", 1).current_stage == "Production"
    assert (client.resolve("models:/clf@champion").local_path / "MLmodel").is_file()
