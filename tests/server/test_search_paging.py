"""Page tokens through `shipyard server`: the REST API, Shipyard's REST stores and the real mlflow
client all page 25 runs as 10, 10 and 5, in the same order as one unpaged search."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
import requests

import shipyard
from shipyard.exceptions import InvalidInput
from shipyard.tracking import fluent_search

MLFLOW_PAGES = """
import json, sys
import mlflow

client = mlflow.MlflowClient(tracking_uri=sys.argv[1])
out = {}
for what, search in (
    ("runs", lambda token: client.search_runs([sys.argv[2]], max_results=10, page_token=token)),
    ("models", lambda token: client.search_registered_models(max_results=5, page_token=token)),
    ("experiments", lambda token: client.search_experiments(max_results=2, page_token=token)),
):
    pages, token = [], None
    while True:
        page = search(token)
        pages.append([getattr(item, "info", item).run_id if what == "runs" else item.name for item in page])
        token = page.token
        if not token:
            break
    out[what] = pages
out["all_runs"] = [r.info.run_id for r in mlflow.search_runs(search_all_experiments=True, output_format="list")]
print(json.dumps(out))
"""


@pytest.fixture()
def seeded(server_factory: Callable[..., Any]) -> Any:
    """A fresh server with 25 runs in one experiment and 12 registered models."""
    server = server_factory()
    client = shipyard.Client(server.url)
    experiment = client.create_experiment("paging")
    runs = [client.create_run(experiment, start_time=1_000_000 + i, run_name=f"r{i}").info.run_id for i in range(25)]
    for i in range(12):
        client.create_registered_model(f"model-{i:02d}")
    return server, experiment, runs[::-1]  # newest first, as MLflow orders


def test_rest_api_pages_with_next_page_token(seeded: Any) -> None:
    server, experiment, newest_first = seeded
    pages, token = [], None
    while True:
        body = {"experiment_ids": [experiment], "max_results": 10, **({"page_token": token} if token else {})}
        answer = requests.post(f"{server.url}/api/2.0/mlflow/runs/search", json=body, timeout=30)
        assert answer.status_code == 200, answer.text
        pages.append([run["info"]["run_id"] for run in answer.json()["runs"]])
        token = answer.json().get("next_page_token")
        if not token:
            break
    assert [len(p) for p in pages] == [10, 10, 5]
    assert sum(pages, []) == newest_first
    models = requests.get(f"{server.url}/api/2.0/mlflow/registered-models/search?max_results=5", timeout=30).json()
    assert [m["name"] for m in models["registered_models"]] == [f"model-{i:02d}" for i in range(5)]
    assert models["next_page_token"]


def test_a_bad_page_token_is_a_400_naming_it(seeded: Any) -> None:
    server, experiment, _ = seeded
    for path, method in (("runs/search", "POST"), ("experiments/search", "POST"), ("model-versions/search", "GET")):
        fields = {"experiment_ids": [experiment], "page_token": "bm90LWEtdG9rZW4"}
        answer = requests.request(
            method,
            f"{server.url}/api/2.0/mlflow/{path}",
            timeout=30,
            **({"json": fields} if method == "POST" else {"params": fields}),
        )
        assert answer.status_code == 400, (path, answer.text)
        assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        assert "page_token" in answer.json()["message"]


def test_shipyard_client_pages_through_the_rest_store(seeded: Any) -> None:
    server, experiment, newest_first = seeded
    client = shipyard.Client(server.url)
    first = client.search_runs([experiment], max_results=10)
    second = client.search_runs([experiment], max_results=10, page_token=first.token)
    third = client.search_runs([experiment], max_results=10, page_token=second.token)
    assert third.token is None and [len(first), len(second), len(third)] == [10, 10, 5]
    assert [r.info.run_id for r in [*first, *second, *third]] == newest_first
    models = client.search_registered_models(max_results=5)
    more = client.search_registered_models(max_results=100, page_token=models.token)
    assert [m.name for m in [*models, *more]] == [f"model-{i:02d}" for i in range(12)] and more.token is None
    with pytest.raises(InvalidInput, match="page_token"):
        client.search_runs([experiment], max_results=10, page_token="garbage")


def test_the_mlflow_client_pages_against_shipyard_server(seeded: Any, tmp_path: Any) -> None:
    server, experiment, newest_first = seeded
    env = {**os.environ, "MLFLOW_TRACKING_URI": server.url, "PYTHONWARNINGS": "ignore"}
    env.pop("MLFLOW_TRACKING_TOKEN", None)
    out = subprocess.run(
        [sys.executable, "-c", MLFLOW_PAGES, server.url, experiment],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-4000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert [len(p) for p in got["runs"]] == [10, 10, 5]
    assert sum(got["runs"], []) == newest_first
    assert sum(got["models"], []) == [f"model-{i:02d}" for i in range(12)]
    assert [len(p) for p in got["models"]] == [5, 5, 2]
    experiments = shipyard.Client(server.url).search_experiments()
    assert sum(got["experiments"], []) == [e.name for e in experiments] == ["paging", "Default"]
    assert sorted(got["all_runs"]) == sorted(newest_first)


def test_fluent_search_experiments_and_search_all_experiments(seeded: Any, monkeypatch: Any) -> None:
    server, experiment, newest_first = seeded
    monkeypatch.setattr(fluent_search, "PAGE_SIZE", 1)  # forces one request per experiment
    shipyard.set_tracking_uri(server.url)
    try:
        assert [e.name for e in shipyard.search_experiments()] == ["paging", "Default"]
        assert [e.name for e in shipyard.search_experiments(filter_string="name = 'paging'")] == ["paging"]
        runs = shipyard.search_runs(search_all_experiments=True, output_format="list")
        assert sorted(r.info.run_id for r in runs) == sorted(newest_first)
    finally:
        shipyard.set_tracking_uri(None)
