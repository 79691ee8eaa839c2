"""`shipyard gc` and `shipyard db upgrade` on real databases (sqlite; PostgreSQL where CI has it)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import Result

from shipyard.exceptions import ResourceNotFound
from shipyard.tracking.artifacts import file_uri_to_path
from shipyard.tracking.client import TrackingClient
from shipyard.tracking.db import create_engine_for, current_revision

Invoke = Callable[..., Result]
LoggedRun = Callable[..., tuple[str, str]]
RUN_TABLES = ("params", "tags", "metrics", "latest_metrics")


def rows_of(uri: str, run_id: str) -> dict[str, int]:
    engine = create_engine_for(uri)
    with engine.connect() as connection:
        counts = {
            table: connection.execute(
                sa.text(f"SELECT COUNT(*) FROM {table} WHERE run_uuid = :r"), {"r": run_id}
            ).scalar()
            for table in (*RUN_TABLES, "runs")
        }
    engine.dispose()
    return {k: int(v or 0) for k, v in counts.items()}


def test_gc_removes_deleted_runs_rows_and_artifacts_and_keeps_the_rest(
    invoke: Invoke, store_uri: str, tmp_path: Path, logged_run: LoggedRun
) -> None:
    experiment_id, doomed = logged_run(store_uri, tmp_path)
    client = TrackingClient(store_uri)
    kept = client.create_run(experiment_id).info.run_id
    client.log_param(kept, "p", 1)
    artifacts = file_uri_to_path(client.get_run(doomed).info.artifact_uri)
    assert (artifacts / "notes.txt").is_file() and all(rows_of(store_uri, doomed).values())

    active = invoke("gc", "--run-ids", kept, "--backend-store-uri", store_uri)
    assert active.exit_code == 1 and f"INVALID_STATE: run '{kept}' is not deleted" in active.output
    client.delete_run(doomed)
    too_new = invoke("gc", "--older-than", "1d", "--run-ids", doomed, "--backend-store-uri", store_uri)
    assert too_new.exit_code == 1 and "was deleted less than 1d ago" in too_new.output
    assert invoke("gc", "--older-than", "1d", "--backend-store-uri", store_uri).output == ""  # nothing that old

    done = invoke("gc", "--backend-store-uri", store_uri)
    assert done.exit_code == 0 and done.output.strip() == f"Run with ID {doomed} has been permanently deleted."
    assert set(rows_of(store_uri, doomed).values()) == {0}
    assert not artifacts.exists() and not artifacts.parent.exists()  # the run's own folder, emptied, goes too
    with pytest.raises(ResourceNotFound):
        client.get_run(doomed)
    assert client.get_run(kept).data.params == {"p": "1"} and rows_of(store_uri, kept)["params"] == 1
    assert client.get_experiment(experiment_id).lifecycle_stage == "active"


def test_gc_removes_a_deleted_experiment_with_all_its_runs(
    invoke: Invoke, store_uri: str, tmp_path: Path, logged_run: LoggedRun
) -> None:
    experiment_id, run_id = logged_run(store_uri, tmp_path)
    other_id, other_run = logged_run(store_uri, tmp_path, "other")
    client = TrackingClient(store_uri)
    location = file_uri_to_path(client.get_experiment(experiment_id).artifact_location)
    client.delete_experiment(experiment_id)
    client.delete_experiment(other_id)

    active = invoke("gc", "--experiment-ids", "0", "--backend-store-uri", store_uri)
    assert active.exit_code == 1 and "experiment '0' is not deleted" in active.output
    done = invoke("gc", "--experiment-ids", experiment_id, "--run-ids", run_id, "--backend-store-uri", store_uri)
    assert done.exit_code == 0, done.output
    assert done.output.splitlines() == [
        f"Run with ID {run_id} has been permanently deleted.",
        f"Experiment with ID {experiment_id} has been permanently deleted.",
    ]
    assert not location.exists()
    with pytest.raises(ResourceNotFound):
        client.get_experiment(experiment_id)
    assert client.get_experiment(other_id).lifecycle_stage == "deleted"  # not named: kept
    assert client.get_run(other_run).info.lifecycle_stage == "deleted"
    assert invoke("gc", "--backend-store-uri", store_uri).exit_code == 0  # none named: every deleted one
    with pytest.raises(ResourceNotFound):
        client.get_experiment(other_id)


def test_gc_on_postgresql(invoke: Invoke, postgres_uri: str, tmp_path: Path, logged_run: LoggedRun) -> None:
    experiment_id, run_id = logged_run(postgres_uri, tmp_path, "pg-gc")
    TrackingClient(postgres_uri).delete_experiment(experiment_id)
    done = invoke("gc", "--experiment-ids", experiment_id, "--backend-store-uri", postgres_uri)
    assert done.exit_code == 0, done.output
    assert set(rows_of(postgres_uri, run_id).values()) == {0}


def test_gc_refuses_what_it_cannot_do(invoke: Invoke, store_uri: str) -> None:
    bad_age = invoke("gc", "--older-than", "soon", "--backend-store-uri", store_uri)
    assert bad_age.exit_code == 2 and "'soon' is not a duration" in bad_age.output
    remote = invoke("gc", "--backend-store-uri", "http://127.0.0.1:9")
    assert remote.exit_code == 2 and "is not a database" in remote.output
    unknown = invoke("gc", "--run-ids", "0" * 32, "--backend-store-uri", store_uri)
    assert unknown.exit_code == 1 and "RESOURCE_DOES_NOT_EXIST" in unknown.output


def test_gc_parses_mlflow_durations() -> None:
    from shipyard.commands.gc import parse_age

    assert parse_age("1d2h3m4s") == ((24 + 2) * 3600 + 3 * 60 + 4) * 1000
    assert parse_age("1.5d") == 36 * 3600 * 1000 and parse_age("90s") == 90_000
    assert parse_age("") == -1 and parse_age("3w") == -1


def test_db_upgrade_migrates_an_empty_database_and_is_idempotent(invoke: Invoke, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'fresh.db'}"
    first = invoke("db", "upgrade", uri)
    assert first.exit_code == 0 and "upgraded from revision (empty) to" in first.output
    engine = create_engine_for(uri)
    head = current_revision(engine)
    engine.dispose()
    assert head is not None and head in first.output
    again = invoke("db", "upgrade", uri)
    assert again.exit_code == 0 and again.output.strip().endswith(f"is up to date (revision {head}).")
    TrackingClient(uri).create_experiment("after-upgrade")  # a store opens it as its own


def test_db_upgrade_refuses_what_is_not_a_database(invoke: Invoke) -> None:
    remote = invoke("db", "upgrade", "http://127.0.0.1:9")
    assert remote.exit_code == 2 and "is not a database URL" in remote.output
    missing = invoke("db", "upgrade")
    assert missing.exit_code == 2 and "Missing argument 'URL'" in missing.output


def test_a_registered_version_still_loads_after_gc_removed_its_run(
    invoke: Invoke, store_uri: str, iris_model: dict[str, Any], tmp_path: Path
) -> None:
    from shipyard.flavors.pyfunc import load_model
    from shipyard.registry.client import RegistryClient
    from shipyard.registry.uris import resolve_model_uri
    from shipyard.settings import Settings

    client = TrackingClient(store_uri)
    run_id = client.create_run("0").info.run_id
    client.log_artifacts(run_id, iris_model["path"], "model")
    RegistryClient(store_uri).register_model(f"runs:/{run_id}/model", "iris-gc")
    client.delete_run(run_id)
    assert invoke("gc", "--backend-store-uri", store_uri).exit_code == 0
    with pytest.raises(ResourceNotFound):
        client.get_run(run_id)
    resolved = resolve_model_uri(
        "models:/iris-gc/1", settings=Settings(cache_dir=tmp_path / "cache"), tracking_uri=store_uri
    )
    model = load_model(resolved.local_path)
    assert model.predict(iris_model["rows"]).tolist() == iris_model["expected"]
