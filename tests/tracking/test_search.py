"""MLflow's search language and page tokens on the real SQL store (sqlite and PostgreSQL)."""

from __future__ import annotations

import uuid

import pytest

from shipyard.exceptions import InvalidInput
from shipyard.tracking.entities import ExperimentTag, Metric, Param, RunTag, ViewType
from shipyard.tracking.store import AbstractTrackingStore


def _experiment(store: AbstractTrackingStore, name: str, tags: dict[str, str] | None = None) -> str:
    return store.create_experiment(name, None, [ExperimentTag(k, v) for k, v in (tags or {}).items()])


def _runs(store: AbstractTrackingStore, experiment_id: str, count: int) -> list[str]:
    """`count` runs started one millisecond apart (run i at 1_000_000 + i)."""
    return [store.create_run(experiment_id, "u", 1_000_000 + i, [], f"run-{i}").info.run_id for i in range(count)]


def _ids(found: list[object]) -> list[str]:
    return [run.info.run_id for run in found]  # type: ignore[attr-defined]


def test_is_null_and_is_not_null_on_params_and_tags(store: AbstractTrackingStore, experiment_name: str) -> None:
    experiment = _experiment(store, experiment_name)
    with_lr, without = _runs(store, experiment, 2)
    store.log_batch(with_lr, [], [Param("lr", "0.1")], [RunTag("team", "risk")])
    search = lambda f: set(_ids(store.search_runs([experiment], f)))  # noqa: E731
    assert search("params.lr IS NULL") == {without}
    assert search("params.lr IS NOT NULL") == {with_lr}
    assert search("tags.team IS NULL") == {without}
    assert search("tags.team is not null AND params.lr = '0.1'") == {with_lr}
    with pytest.raises(InvalidInput, match="metrics.loss"):
        store.search_runs([experiment], "metrics.loss IS NULL")
    with pytest.raises(InvalidInput, match="attributes.status"):
        store.search_runs([experiment], "attributes.status IS NULL")


def test_mlflow_attribute_aliases(store: AbstractTrackingStore, experiment_name: str) -> None:
    experiment = _experiment(store, experiment_name)
    ids = _runs(store, experiment, 3)
    assert set(_ids(store.search_runs([experiment], "attributes.created >= 1000001"))) == set(ids[1:])
    assert _ids(store.search_runs([experiment], "Created < 1000001")) == ids[:1]
    assert _ids(store.search_runs([experiment], "attributes.`Run name` = 'run-2'")) == ids[2:]
    assert _ids(store.search_runs([experiment], "", order_by=["attributes.created ASC"])) == ids


def test_experiment_filters_as_mlflow_accepts_them(store: AbstractTrackingStore) -> None:
    prefix = f"exp-{uuid.uuid4().hex[:8]}"
    a = _experiment(store, f"{prefix}-a", {"team": "risk"})
    b = _experiment(store, f"{prefix}-b")
    c = _experiment(store, f"{prefix}-c", {"team": "ops"})
    names = lambda f, **kw: [e.name for e in store.search_experiments(filter_string=f, **kw)]  # noqa: E731
    mine = f"name LIKE '{prefix}-%'"
    # MLflow's default order: newest first, then experiment id (two may share a millisecond).
    found = store.search_experiments(filter_string=mine)
    expected = sorted(found, key=lambda e: (-e.creation_time, int(e.experiment_id)))
    assert [e.name for e in found] == [e.name for e in expected]
    assert sorted(e.name for e in found) == [f"{prefix}-a", f"{prefix}-b", f"{prefix}-c"]
    assert names(mine, order_by=["name ASC"]) == [f"{prefix}-a", f"{prefix}-b", f"{prefix}-c"]
    assert names(f"{mine} AND tags.team = 'risk'") == [f"{prefix}-a"]
    assert names(f"{mine} AND tags.team IS NULL") == [f"{prefix}-b"]
    assert set(names(f"{mine} AND tags.team IS NOT NULL")) == {f"{prefix}-a", f"{prefix}-c"}
    assert set(names(f"experiment_id IN ('{a}', '{c}')")) == {f"{prefix}-a", f"{prefix}-c"}
    created = store.get_experiment(b).creation_time
    assert f"{prefix}-b" in names(f"{mine} AND attributes.creation_time >= {created}")
    assert names(f"{mine} AND attributes.creation_time > {created + 10**9}") == []
    assert f"{prefix}-b" in names(f"{mine} AND attributes.last_update_time <= {created}")
    store.delete_experiment(b)
    assert names(mine, view_type=ViewType.DELETED_ONLY) == [f"{prefix}-b"]
    with pytest.raises(InvalidInput, match="unknown prefix 'metrics'"):
        store.search_experiments(filter_string="metrics.loss > 1")
    with pytest.raises(InvalidInput, match="unknown attribute 'status'"):
        store.search_experiments(filter_string="attributes.status = 'x'")
    with pytest.raises(InvalidInput, match="view_type"):
        store.search_experiments(view_type=7)


def test_twenty_five_runs_in_three_pages(store: AbstractTrackingStore, experiment_name: str) -> None:
    experiment = _experiment(store, experiment_name)
    ids = _runs(store, experiment, 25)
    first = store.search_runs([experiment], max_results=10)
    assert first.token is not None
    second = store.search_runs([experiment], max_results=10, page_token=first.token)
    assert second.token is not None
    third = store.search_runs([experiment], max_results=10, page_token=second.token)
    assert [len(first), len(second), len(third)] == [10, 10, 5]
    assert third.token is None
    assert _ids(first) + _ids(second) + _ids(third) == ids[::-1]  # newest first, as MLflow orders


def test_pages_stay_exact_when_runs_arrive_between_pages(store: AbstractTrackingStore, experiment_name: str) -> None:
    """Newest-first order puts new runs on page one; an offset token would repeat a row then."""
    experiment = _experiment(store, experiment_name)
    ids = _runs(store, experiment, 25)
    first = store.search_runs([experiment], max_results=10)
    store.create_run(experiment, "u", 9_000_000, [], "late")  # sorts before everything seen
    rest = store.search_runs([experiment], max_results=100, page_token=first.token)
    assert _ids(first) + _ids(rest) == ids[::-1]


def test_pages_follow_an_order_on_metrics_with_ties_and_missing_values(
    store: AbstractTrackingStore, experiment_name: str
) -> None:
    experiment = _experiment(store, experiment_name)
    ids = _runs(store, experiment, 25)
    for i, run_id in enumerate(ids[:20]):
        store.log_batch(run_id, [Metric("loss", float(i % 4), 0, 0)], [], [])  # ties; five without
    whole = _ids(store.search_runs([experiment], order_by=["metrics.loss DESC"]))
    paged: list[str] = []
    token = None
    while True:
        page = store.search_runs([experiment], max_results=7, order_by=["metrics.loss DESC"], page_token=token)
        paged += _ids(page)
        token = page.token
        if token is None:
            break
    assert paged == whole and sorted(paged) == sorted(ids)
    assert set(whole[-5:]) == set(ids[20:])  # runs without the metric come last


def test_bad_and_foreign_page_tokens_are_invalid_input(store: AbstractTrackingStore, experiment_name: str) -> None:
    experiment = _experiment(store, experiment_name)
    _runs(store, experiment, 3)
    token = store.search_runs([experiment], max_results=1).token
    assert token is not None
    with pytest.raises(InvalidInput, match="page_token"):
        store.search_runs([experiment], max_results=1, page_token="not-a-token")
    with pytest.raises(InvalidInput, match="page_token"):
        store.search_runs([experiment], "params.x = 'y'", max_results=1, page_token=token)
    with pytest.raises(InvalidInput, match="page_token"):
        store.search_experiments(max_results=1, page_token=token)
    with pytest.raises(InvalidInput, match="max_results"):
        store.search_runs([experiment], max_results=0)


def test_experiment_pages(store: AbstractTrackingStore) -> None:
    prefix = f"exp-{uuid.uuid4().hex[:8]}"
    for i in range(25):
        _experiment(store, f"{prefix}-{i:02d}")
    mine = f"name LIKE '{prefix}-%'"
    pages = []
    token = None
    while True:
        page = store.search_experiments(max_results=10, filter_string=mine, order_by=["name"], page_token=token)
        pages.append([e.name for e in page])
        token = page.token
        if token is None:
            break
    assert [len(p) for p in pages] == [10, 10, 5]
    assert sum(pages, []) == [f"{prefix}-{i:02d}" for i in range(25)]
