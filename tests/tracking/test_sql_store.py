"""The SQL store on a real database: experiments, runs, batched data, history and search."""

from __future__ import annotations

import math

import pytest

from shipyard.exceptions import AlreadyExists, InvalidInput, InvalidState, ResourceNotFound
from shipyard.tracking.entities import (
    ExperimentTag,
    LifecycleStage,
    Metric,
    Param,
    RunStatus,
    RunTag,
    ViewType,
)
from shipyard.tracking.store import AbstractTrackingStore


def _run(store: AbstractTrackingStore, experiment_id: str, name: str | None = None) -> str:
    return store.create_run(experiment_id, "alice", None, [], name).info.run_id


def test_experiment_lifecycle(store: AbstractTrackingStore, experiment_name: str) -> None:
    experiment_id = store.create_experiment(experiment_name, tags=[ExperimentTag("team", "ml")])
    experiment = store.get_experiment(experiment_id)
    assert experiment.name == experiment_name
    assert experiment.tags == {"team": "ml"}
    assert experiment.artifact_location.endswith(f"/{experiment_id}")
    assert store.get_experiment_by_name(experiment_name) == experiment
    assert store.get_experiment_by_name(experiment_name + "-missing") is None
    with pytest.raises(AlreadyExists):
        store.create_experiment(experiment_name)

    store.rename_experiment(experiment_id, experiment_name + "-renamed")
    assert store.get_experiment(experiment_id).name == experiment_name + "-renamed"
    run_id = _run(store, experiment_id)
    store.delete_experiment(experiment_id)
    assert store.get_experiment(experiment_id).lifecycle_stage == LifecycleStage.DELETED
    assert store.get_run(run_id).info.lifecycle_stage == LifecycleStage.DELETED
    assert experiment_id not in [e.experiment_id for e in store.search_experiments()]
    assert experiment_id in [e.experiment_id for e in store.search_experiments(ViewType.DELETED_ONLY)]
    with pytest.raises(InvalidState):
        _run(store, experiment_id)
    store.restore_experiment(experiment_id)
    assert store.get_run(run_id).info.lifecycle_stage == LifecycleStage.ACTIVE


def test_default_experiment_exists_and_cannot_be_deleted(store: AbstractTrackingStore) -> None:
    assert store.get_experiment("0").name == "Default"
    with pytest.raises(InvalidInput):
        store.delete_experiment("0")


def test_missing_and_malformed_ids(store: AbstractTrackingStore) -> None:
    with pytest.raises(ResourceNotFound):
        store.get_experiment("987654")
    with pytest.raises(InvalidInput, match="experiment_id 'abc'"):
        store.get_experiment("abc")
    with pytest.raises(ResourceNotFound):
        store.get_run("0" * 32)
    with pytest.raises(InvalidInput, match="run_id"):
        store.get_run("../etc")


def test_search_experiments_by_name_and_tag(store: AbstractTrackingStore, experiment_name: str) -> None:
    store.create_experiment(experiment_name + "-a", tags=[ExperimentTag("k", "v")])
    store.create_experiment(experiment_name + "-b")
    names = [
        e.name
        for e in store.search_experiments(filter_string=f"name LIKE '{experiment_name}%'", order_by=["name DESC"])
    ]
    assert names == [experiment_name + "-b", experiment_name + "-a"]
    tagged = store.search_experiments(filter_string=f"tags.k = 'v' AND name LIKE '{experiment_name}%'")
    assert [e.name for e in tagged] == [experiment_name + "-a"]


def test_run_lifecycle_and_data(store: AbstractTrackingStore, experiment_name: str) -> None:
    experiment_id = store.create_experiment(experiment_name)
    run = store.create_run(experiment_id, "alice", 1234, [RunTag("a", "1")], "first")
    run_id = run.info.run_id
    assert run.info.status == RunStatus.RUNNING
    assert run.info.start_time == 1234
    assert run.info.artifact_uri.endswith(f"/{experiment_id}/{run_id}/artifacts")
    assert run.data.tags == {"a": "1", "mlflow.runName": "first"}

    store.log_batch(
        run_id,
        [Metric("loss", 0.5, 10, 1), Metric("loss", 0.9, 11, 0), Metric("acc", float("nan"), 12, 0)],
        [Param("lr", "0.1")],
        [RunTag("a", "2")],
    )
    data = store.get_run(run_id).data
    assert data.metrics["loss"] == 0.5  # the highest step wins, not the last logged
    assert math.isnan(data.metrics["acc"])
    assert data.params == {"lr": "0.1"}
    assert data.tags["a"] == "2"
    history = store.get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 0.9), (1, 0.5)]

    info = store.update_run_info(run_id, RunStatus.FINISHED, 5678, "renamed")
    assert (info.status, info.end_time, info.run_name) == (RunStatus.FINISHED, 5678, "renamed")
    assert store.get_run(run_id).data.tags["mlflow.runName"] == "renamed"
    with pytest.raises(InvalidInput, match="status"):
        store.update_run_info(run_id, "DONE", None, None)

    store.delete_tag(run_id, "a")
    assert "a" not in store.get_run(run_id).data.tags
    with pytest.raises(ResourceNotFound):
        store.delete_tag(run_id, "a")
    store.delete_run(run_id)
    with pytest.raises(InvalidState):
        store.log_batch(run_id, [Metric("x", 1.0, 1, 0)], [], [])
    store.restore_run(run_id)
    store.log_batch(run_id, [Metric("x", 1.0, 1, 0)], [], [])


def test_params_are_immutable(store: AbstractTrackingStore, experiment_name: str) -> None:
    run_id = _run(store, store.create_experiment(experiment_name))
    store.log_batch(run_id, [], [Param("lr", "0.1")], [])
    store.log_batch(run_id, [], [Param("lr", "0.1")], [])  # same value: fine
    with pytest.raises(InvalidInput, match="'lr'.*'0.1'.*'0.2'"):
        store.log_batch(run_id, [Metric("m", 1.0, 1, 0)], [Param("lr", "0.2")], [])
    assert store.get_metric_history(run_id, "m") == []  # the failed batch wrote nothing
    with pytest.raises(InvalidInput, match="twice"):
        store.log_batch(run_id, [], [Param("b", "1"), Param("b", "2")], [])


def test_search_runs_filters_and_order(store: AbstractTrackingStore, experiment_name: str) -> None:
    experiment_id = store.create_experiment(experiment_name)
    ids = {}
    for name, loss, opt, start in (("a", 0.3, "adam", 1), ("b", 0.1, "sgd", 2), ("c", 0.2, "Adam", 3)):
        run = store.create_run(experiment_id, "u", start, [RunTag("my tag", name.upper())], name)
        ids[name] = run.info.run_id
        store.log_batch(run.info.run_id, [Metric("loss", loss, 1, 0)], [Param("opt", opt)], [])
    store.update_run_info(ids["b"], RunStatus.FINISHED, 9, None)

    def names(filter_string: str = "", order_by: list[str] | None = None) -> list[str]:
        runs = store.search_runs([experiment_id], filter_string, order_by=order_by)
        return [r.info.run_name or "" for r in runs]

    assert names() == ["c", "b", "a"]  # newest first by default
    assert names(order_by=["metrics.loss ASC"]) == ["b", "c", "a"]
    assert names(order_by=["params.opt DESC"]) == ["b", "a", "c"]
    assert names("metrics.loss < 0.25", ["metrics.loss"]) == ["b", "c"]
    assert names("metrics.loss >= 0.2 AND params.opt = 'adam'") == ["a"]
    assert names("params.opt LIKE 'a%'") == ["a"]  # LIKE is case-sensitive
    assert names("params.opt ILIKE 'a%'") == ["c", "a"]
    assert names("params.opt != 'sgd'") == ["c", "a"]
    assert names("tags.\"my tag\" = 'B'") == ["b"]
    assert names("tags.`my tag` = 'C'") == ["c"]
    assert names("attributes.status = 'FINISHED'") == ["b"]
    assert names("attributes.start_time > 1") == ["c", "b"]
    assert names(f"attributes.run_id IN ('{ids['a']}', '{ids['c']}')") == ["c", "a"]
    assert names("attributes.run_name = 'a'") == ["a"]
    assert len(store.search_runs([experiment_id], max_results=2)) == 2


@pytest.mark.parametrize(
    ("filter_string", "token"),
    [
        ("metrics.loss < 'x'", "'x'"),
        ("params.opt > 'a'", "'>'"),
        ("bogus.loss = 1", "bogus"),
        ("metrics.loss = 1 OR metrics.loss = 2", "'OR'"),
        ("metrics.loss = ", "end"),
        ("attributes.colour = 'red'", "colour"),
        ("metrics.loss ~ 1", "~ 1"),
    ],
)
def test_invalid_filters_name_the_token(store: AbstractTrackingStore, filter_string: str, token: str) -> None:
    with pytest.raises(InvalidInput, match="filter_string") as caught:
        store.search_runs(["0"], filter_string)
    assert token in caught.value.message
