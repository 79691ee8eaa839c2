"""A run's inputs and outputs live in the tracking store (sqlite and PostgreSQL): logged, read
back on the run as MLflow's entities, searched with `datasets.*`, deleted with the run, and added
to a database that an older Shipyard created."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from shipyard.exceptions import InvalidInput, InvalidState, ResourceNotFound
from shipyard.tracking.db import _alembic_config, create_engine_for, current_revision
from shipyard.tracking.entities import (
    Dataset,
    DatasetInput,
    InputTag,
    LoggedModelInput,
    LoggedModelOutput,
    Metric,
    Param,
    RunTag,
)
from shipyard.tracking.sql_store import SqlTrackingStore
from shipyard.tracking.store import AbstractTrackingStore

CONTEXT = "mlflow.data.context"
INPUT_TABLES = ("run_dataset_inputs", "run_dataset_input_tags", "run_model_links")


def _dataset(name: str, digest: str, context: str | None = None, **tags: str) -> DatasetInput:
    input_tags = [InputTag(k, v) for k, v in tags.items()] + ([InputTag(CONTEXT, context)] if context else [])
    return DatasetInput(
        Dataset(name, digest, "local", f'{{"uri": "/data/{name}.csv"}}', '{"mlflow_colspec": []}'), input_tags
    )


def _run(store: AbstractTrackingStore, experiment_name: str) -> str:
    experiment = store.create_experiment(experiment_name)
    return store.create_run(experiment, "u", None, [], None).info.run_id


def test_inputs_and_outputs_round_trip_once_each(store: AbstractTrackingStore, experiment_name: str) -> None:
    run_id = _run(store, experiment_name)
    train = _dataset("iris", "d1", "train", split="a")
    store.log_inputs(run_id, [train, train], [LoggedModelInput("m-in")])
    store.log_inputs(
        run_id, [_dataset("iris", "d1", "eval"), _dataset("iris", "d2", "eval")], [LoggedModelInput("m-in")]
    )
    store.log_outputs(
        run_id, [LoggedModelOutput("m-out", 3), LoggedModelOutput("m-out", 3), LoggedModelOutput("m-out", 4)]
    )
    run = store.get_run(run_id)
    # the same name + digest is kept once, with the tags it was first logged with (as in MLflow)
    assert [(d.dataset.name, d.dataset.digest) for d in run.inputs.dataset_inputs] == [("iris", "d1"), ("iris", "d2")]
    assert run.inputs.dataset_inputs[0] == DatasetInput(train.dataset, sorted(train.tags, key=lambda t: t.key))
    assert run.inputs.model_inputs == [LoggedModelInput("m-in")]
    assert run.outputs.model_outputs == [LoggedModelOutput("m-out", 3), LoggedModelOutput("m-out", 4)]
    as_dict = run.to_dictionary()
    assert as_dict["inputs"]["dataset_inputs"][0] == {
        "dataset": train.dataset.to_dictionary(),
        "tags": {CONTEXT: "train", "split": "a"},
    }
    assert as_dict["outputs"] == {"model_outputs": [{"model_id": "m-out", "step": 3}, {"model_id": "m-out", "step": 4}]}
    (searched,) = store.search_runs([run.info.experiment_id])
    assert (searched.inputs, searched.outputs) == (run.inputs, run.outputs)


def test_bad_inputs_name_the_field_and_write_nothing(store: AbstractTrackingStore, experiment_name: str) -> None:
    run_id = _run(store, experiment_name)
    good = _dataset("iris", "d1")
    with pytest.raises(InvalidInput, match=r"'datasets\[1\].dataset.source_type'"):
        store.log_inputs(run_id, [good, DatasetInput(Dataset("x", "y", "", "s"))])
    with pytest.raises(InvalidInput, match=r"'datasets\[0\].dataset.digest' is 37 characters long; at most 36"):
        store.log_inputs(run_id, [DatasetInput(Dataset("x", "y" * 37, "local", "s"))])
    with pytest.raises(InvalidInput, match=r"'models\[0\].step'"):
        store.log_outputs(run_id, [LoggedModelOutput("m", "3")])  # type: ignore[arg-type]
    assert store.get_run(run_id).inputs.dataset_inputs == []
    with pytest.raises(ResourceNotFound, match="not found"):
        store.log_inputs(uuid.uuid4().hex, [good])
    store.delete_run(run_id)
    with pytest.raises(InvalidState, match="is deleted"):
        store.log_outputs(run_id, [LoggedModelOutput("m", 1)])


def test_search_filters_on_dataset_name_digest_and_context(store: AbstractTrackingStore, experiment_name: str) -> None:
    experiment = store.create_experiment(experiment_name)
    iris, wine, none = (store.create_run(experiment, "u", None, [], n).info.run_id for n in ("iris", "wine", "none"))
    store.log_inputs(iris, [_dataset("iris", "d1", "train"), _dataset("iris-eval", "d2", "eval")])
    store.log_inputs(wine, [_dataset("wine", "d3", "train")])

    def search(filter_string: str) -> set[str]:
        return {r.info.run_id for r in store.search_runs([experiment], filter_string)}

    assert search("datasets.name = 'iris'") == {iris}
    assert search("dataset.digest IN ('d2', 'd3')") == {iris, wine}
    assert search("datasets.context = 'train'") == {iris, wine}
    assert search("datasets.context = 'eval' AND datasets.name LIKE 'iris%'") == {iris}
    assert search("datasets.name ILIKE 'WINE'") == {wine}
    assert search("datasets.name != 'iris'") == {iris, wine}  # a run with any other dataset, as MLflow's SQL
    assert search("datasets.context NOT IN ('train')") == {iris}
    assert search("datasets.name = 'nothing'") == set()
    assert none in search("")
    with pytest.raises(InvalidInput, match="unknown dataset field 'source'.*name, digest, context"):
        search("datasets.source = 'x'")
    with pytest.raises(InvalidInput, match="one of =, !=, LIKE, ILIKE, IN, NOT IN for datasets.name"):
        search("datasets.name IS NULL")
    with pytest.raises(InvalidInput, match="cannot be ordered by their datasets"):
        store.search_runs([experiment], "", order_by=["datasets.name"])


def _input_rows(engine: sa.Engine, run_id: str) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table: connection.execute(
                sa.text(f"SELECT COUNT(*) FROM {table} WHERE run_uuid = :r"), {"r": run_id}
            ).scalar_one()
            for table in INPUT_TABLES
        }


def test_removing_a_deleted_run_removes_its_inputs(store: SqlTrackingStore, experiment_name: str) -> None:
    doomed, kept = _run(store, experiment_name), _run(store, experiment_name + "-b")
    for run_id in (doomed, kept):
        store.log_inputs(run_id, [_dataset("iris", "d1", "train")], [LoggedModelInput("m")])
        store.log_outputs(run_id, [LoggedModelOutput("m", 1)])
    logged = {"run_dataset_inputs": 1, "run_dataset_input_tags": 1, "run_model_links": 2}  # one in, one out
    assert _input_rows(store.engine, doomed) == logged
    store.delete_run(doomed)
    store._hard_delete_run(doomed)  # what `shipyard gc` calls
    assert _input_rows(store.engine, doomed) == dict.fromkeys(INPUT_TABLES, 0)
    assert _input_rows(store.engine, kept) == logged


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_uri(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables yet (PostgreSQL: a new database on the test server)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    base = sa.make_url(str(request.getfixturevalue("postgres_uri")))
    name = f"{base.database}_old_{uuid.uuid4().hex[:6]}"
    admin = create_engine_for(base.render_as_string(hide_password=False)).execution_options(
        isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def test_a_database_from_before_the_inputs_tables_upgrades(empty_db_uri: str, tmp_path: Path) -> None:
    old = create_engine_for(empty_db_uri)
    with old.begin() as connection:
        command.upgrade(_alembic_config(connection), "0002_registry")  # the schema before 0003
    assert current_revision(old) == "0002_registry"
    old.dispose()
    # an older Shipyard's run, written through the 0002 schema by hand
    store_v2 = create_engine_for(empty_db_uri)
    with store_v2.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage) "
                "VALUES (7, 'old', '/tmp/old', 'active')"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO runs (run_uuid, name, experiment_id, status, lifecycle_stage, start_time) "
                "VALUES ('0123456789abcdef0123456789abcdef', 'old-run', 7, 'FINISHED', 'active', 1)"
            )
        )
    store_v2.dispose()
    store = SqlTrackingStore.from_uri(empty_db_uri, (tmp_path / "artifacts").as_uri())  # migrates
    try:
        assert current_revision(store.engine) == "0004_deployments"  # every later migration ran too
        run_id = "0123456789abcdef0123456789abcdef"
        assert store.get_run(run_id).inputs.dataset_inputs == []
        store.log_inputs(run_id, [_dataset("iris", "d1", "train")])
        store.log_batch(run_id, [Metric("m", 1.0, 1, 0)], [Param("p", "1")], [RunTag("t", "v")])
        run = store.get_run(run_id)
        assert (run.info.run_name, [d.dataset.name for d in run.inputs.dataset_inputs]) == ("old-run", ["iris"])
    finally:
        store.engine.dispose()
