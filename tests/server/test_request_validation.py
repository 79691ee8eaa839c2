"""Bad integers, keys, order_by/filter keys and artifact paths sent to `shipyard server` are 400
INVALID_PARAMETER_VALUE naming the field, never a 500 (issue #13, item 4). Where a real
`mlflow server` refuses the same request, its error code is the same; where it answers 500 or
stores the value, the test says so."""

from __future__ import annotations

from typing import Any

import pytest
import requests

API = "/api/2.0/mlflow"
ART = "/api/2.0/mlflow-artifacts/artifacts/"
BIG = 2**63  # one past int64's maximum
RUN = "<run>"
EXP = "<experiment>"

# (method, path, body, the field the message must name)
REST_CASES: list[tuple[str, str, dict[str, Any], str]] = [
    ("POST", "/runs/log-metric", {"run_id": RUN, "key": "m", "value": 1, "timestamp": 1e20, "step": 0}, "timestamp"),
    ("POST", "/runs/log-metric", {"run_id": RUN, "key": "m", "value": 1, "timestamp": BIG, "step": 0}, "timestamp"),
    ("POST", "/runs/log-metric", {"run_id": RUN, "key": "m", "value": 1, "timestamp": -BIG - 1}, "timestamp"),
    ("POST", "/runs/log-metric", {"run_id": RUN, "key": "m", "value": 1, "timestamp": 2**64 + 1}, "timestamp"),
    ("POST", "/runs/log-metric", {"run_id": RUN, "key": "m", "value": 1, "timestamp": 1, "step": BIG}, "step"),
    ("POST", "/runs/log-metric", {"run_id": RUN, "key": "m", "value": 1, "timestamp": 1, "step": 1e20}, "step"),
    (
        "POST",
        "/runs/log-batch",
        {
            "run_id": RUN,
            "metrics": [
                {"key": "m", "value": 1, "timestamp": 1, "step": 0},
                {"key": "m", "value": 1, "timestamp": 1, "step": BIG},
            ],
        },
        "metrics[1].step",
    ),  # fmt: skip
    ("GET", "/experiments/get", {"experiment_id": "1" * 40}, "experiment_id"),
    ("POST", "/runs/create", {"experiment_id": "1" * 40}, "experiment_id"),
    ("POST", "/runs/search", {"experiment_ids": ["1" * 40]}, "experiment_id"),
    ("POST", "/runs/create", {"experiment_id": EXP, "start_time": BIG}, "start_time"),
    ("POST", "/runs/update", {"run_id": RUN, "end_time": BIG}, "end_time"),
    ("POST", "/runs/search", {"experiment_ids": [EXP], "max_results": BIG}, "max_results"),
    ("GET", "/metrics/get-history", {"run_id": RUN, "metric_key": "m", "max_results": BIG}, "max_results"),
    ("POST", "/runs/search", {"experiment_ids": [EXP], "page_token": "9" * 40}, "page_token"),
    ("POST", "/runs/log-metric", {"run_id": RUN, "key": "loss\n", "value": 1, "timestamp": 1, "step": 0}, "metric key"),
    ("POST", "/runs/set-tag", {"run_id": RUN, "key": "t\n", "value": "v"}, "tag key"),
    ("POST", "/runs/log-parameter", {"run_id": RUN, "key": "p\n", "value": "v"}, "param key"),
    ("GET", "/runs/get", {"run_id": "abc\n"}, "run_id"),
    ("POST", "/runs/search", {"experiment_ids": [EXP], "order_by": ["metrics.m; DROP TABLE runs"]}, "order_by"),
    ("POST", "/runs/search", {"experiment_ids": [EXP], "order_by": ["params.`p; x` DESC"]}, "order_by"),
    ("POST", "/runs/search", {"experiment_ids": [EXP], "filter": "metrics.`m; DROP` > 1"}, "filter_string"),
    ("POST", "/runs/search", {"experiment_ids": [EXP], "filter": "tags.\"t\n\" = 'x'"}, "filter_string"),
    ("GET", "/artifacts/list", {"run_id": RUN, "path": "a\x00b"}, "path"),
]
MLFLOW_REFUSES_TOO = [
    ("POST", "/runs/search", {"experiment_ids": [EXP], "max_results": BIG}, "max_results"),
    ("POST", "/runs/search", {"experiment_ids": [EXP], "order_by": ["metrics.m; DROP TABLE runs"]}, "order_by"),
]
"""The REST_CASES that a real `mlflow server` also refuses with 400 (it stores the others' values,
accepts the keys, or answers 500 for the 40-digit experiment id)."""

ARTIFACT_NAMES = [
    ("a%00b", "NUL"),
    ("x" * 10_000, "bytes; the limit is 4096"),
    ("d/" + "y" * 256, "the limit per name is 255"),
    ("d/" + "é" * 128, "the limit per name is 255"),  # 256 bytes in UTF-8
]


def _ids(url: str) -> tuple[str, str]:
    name = f"validation-{url.rsplit(':', 1)[1]}"
    found = requests.get(url + API + "/experiments/get-by-name", params={"experiment_name": name}, timeout=30)
    if found.status_code == 200:
        experiment = found.json()["experiment"]["experiment_id"]
    else:
        experiment = requests.post(url + API + "/experiments/create", json={"name": name}, timeout=30).json()[
            "experiment_id"
        ]
    run = requests.post(url + API + "/runs/create", json={"experiment_id": experiment}, timeout=30)
    return experiment, run.json()["run"]["info"]["run_id"]


def _send(url: str, method: str, path: str, body: dict[str, Any]) -> requests.Response:
    experiment, run = _ids(url)

    def fill(value: Any) -> Any:
        if isinstance(value, list):
            return [fill(v) for v in value]
        return {RUN: run, EXP: experiment}.get(value, value) if isinstance(value, str) else value

    filled = {key: fill(value) for key, value in body.items()}
    if method == "GET":
        return requests.get(url + API + path, params=filled, timeout=30)
    return requests.post(url + API + path, json=filled, timeout=30)


@pytest.mark.parametrize(("method", "path", "body", "field"), REST_CASES, ids=lambda v: str(v)[:40])
def test_bad_rest_input_is_a_400_naming_the_field(
    shared_server: Any, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    answer = _send(shared_server.url, method, path, body)
    assert answer.status_code == 400, answer.text
    error = answer.json()
    assert error["error_code"] == "INVALID_PARAMETER_VALUE"
    assert field in error["message"], error["message"]
    assert "Traceback" not in answer.text


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    MLFLOW_REFUSES_TOO,
    ids=["max_results", "order_by"],
)
def test_error_codes_match_mlflow_where_it_refuses_too(
    shared_server: Any, mlflow_tracking_server: Any, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    ours = _send(shared_server.url, method, path, body)
    theirs = _send(mlflow_tracking_server.url, method, path, body)
    assert (ours.status_code, ours.json()["error_code"]) == (theirs.status_code, theirs.json()["error_code"])


def test_out_of_range_integers_leave_nothing_half_written(shared_server: Any) -> None:
    """A refused batch writes none of its metrics (the check runs before the store is touched)."""
    experiment, run = _ids(shared_server.url)
    good, bad = {"key": "ok", "value": 1, "timestamp": 1, "step": 0}, {"key": "ok", "value": 2, "timestamp": BIG}
    batch = {"run_id": run, "metrics": [good, bad]}
    assert requests.post(shared_server.url + API + "/runs/log-batch", json=batch, timeout=30).status_code == 400
    history = requests.get(
        shared_server.url + API + "/metrics/get-history", params={"run_id": run, "metric_key": "ok"}, timeout=30
    )
    assert history.status_code == 200 and history.json().get("metrics", []) == []
    limits = {"run_id": run, "key": "edge", "value": 1, "timestamp": 2**63 - 1, "step": -(2**63)}
    assert requests.post(shared_server.url + API + "/runs/log-metric", json=limits, timeout=30).status_code == 200
    history = requests.get(
        shared_server.url + API + "/metrics/get-history", params={"run_id": run, "metric_key": "edge"}, timeout=30
    )
    assert [(m["timestamp"], m["step"]) for m in history.json()["metrics"]] == [(2**63 - 1, -(2**63))]


@pytest.mark.parametrize(("name", "problem"), ARTIFACT_NAMES, ids=["nul", "10000-chars", "256-bytes", "256-utf8-bytes"])
def test_unrepresentable_artifact_paths_are_400(shared_server: Any, name: str, problem: str) -> None:
    for answer in (
        requests.put(shared_server.url + ART + name, data=b"hi", timeout=30),
        requests.get(shared_server.url + ART + name, timeout=30),
        requests.delete(shared_server.url + ART + name, timeout=30),
    ):
        assert answer.status_code == 400, answer.text
        assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        assert problem in answer.json()["message"]


def test_longest_names_the_os_allows_still_upload(shared_server: Any) -> None:
    """255 bytes per name is allowed (the upload's temporary file must not push it past)."""
    name = "deep/" + "z" * 255
    assert requests.put(shared_server.url + ART + name, data=b"hi", timeout=30).status_code == 200
    assert requests.get(shared_server.url + ART + name, timeout=30).content == b"hi"


@pytest.mark.parametrize(("name", "problem"), ARTIFACT_NAMES, ids=["nul", "10000-chars", "256-bytes", "256-utf8-bytes"])
def test_unrepresentable_artifact_paths_are_refused_when_logging(tmp_path: Any, name: str, problem: str) -> None:
    """The same rule on the Python side (`log_text`, `log_artifact`), before any file is written."""
    from urllib.parse import unquote

    import shipyard
    from shipyard.exceptions import ArtifactPathError

    shipyard.set_tracking_uri(f"sqlite:///{tmp_path / 'log.db'}")
    try:
        with shipyard.start_run() as run:
            with pytest.raises(ArtifactPathError, match=problem):
                shipyard.log_text("hi", unquote(name) + ".txt")
            (tmp_path / "f.txt").write_text("hi")
            with pytest.raises(ArtifactPathError, match=problem):
                shipyard.log_artifact(str(tmp_path / "f.txt"), artifact_path=unquote(name))
        assert shipyard.MlflowClient().list_artifacts(run.info.run_id) == []
    finally:
        shipyard.set_tracking_uri(None)
