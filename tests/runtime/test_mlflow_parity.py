"""Every MLflow scoring format gives the same predictions from `shipyard serve` as from
`mlflow models serve --env-manager local`, on the very same MLflow-saved model directories."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

IRIS_COLUMNS = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
Server = Any

IRIS_ROWS = [[5.1, 3.5, 1.4, 0.2], [6.2, 2.9, 4.3, 1.3], [7.7, 3.0, 6.1, 2.3]]
MLP_ROWS = np.random.default_rng(1).standard_normal((3, 8)).round(4).tolist()


def _records(rows: list[list[float]], columns: list[str]) -> list[dict[str, float]]:
    return [dict(zip(columns, row, strict=True)) for row in rows]


def _iris_cases() -> list[tuple[str, str, Any]]:
    cols = IRIS_COLUMNS
    frame = pd.DataFrame(IRIS_ROWS, columns=cols)
    return [
        ("split", "json", {"dataframe_split": {"columns": cols, "data": IRIS_ROWS}}),
        ("split-index", "json", {"dataframe_split": {"columns": cols, "data": IRIS_ROWS, "index": [7, 8, 9]}}),
        ("records", "json", {"dataframe_records": _records(IRIS_ROWS, cols)}),
        ("instances-records", "json", {"instances": _records(IRIS_ROWS, cols)}),
        ("inputs-columns", "json", {"inputs": {c: [r[i] for r in IRIS_ROWS] for i, c in enumerate(cols)}}),
        ("csv", "csv", frame.to_csv(index=False)),
    ]


def _mlp_cases() -> list[tuple[str, str, Any]]:
    return [
        ("inputs-rows", "json", {"inputs": MLP_ROWS}),
        ("instances-rows", "json", {"instances": MLP_ROWS}),
        ("split-nocolumns", "json", {"dataframe_split": {"data": MLP_ROWS}}),
        ("one-row", "json", {"inputs": MLP_ROWS[:1]}),
    ]


def _post(server: Server, kind: str, body: Any) -> httpx.Response:
    if kind == "csv":
        return httpx.post(server.url + "/invocations", content=body, headers={"content-type": "text/csv"}, timeout=30)
    return httpx.post(server.url + "/invocations", json=body, timeout=30)


@pytest.fixture(scope="module")
def servers(
    iris_dir: Path,
    onnx_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
    start_shipyard: Any,
    start_mlflow: Any,
) -> Iterator[dict[str, tuple[Server, Server]]]:
    tmp = tmp_path_factory.mktemp("parity")
    with (
        start_mlflow(iris_dir, tmp) as ml_iris,
        start_mlflow(onnx_dir, tmp) as ml_mlp,
        start_shipyard(iris_dir, tmp) as sy_iris,
        start_shipyard(onnx_dir, tmp) as sy_mlp,
    ):
        yield {"iris": (sy_iris, ml_iris), "mlp": (sy_mlp, ml_mlp)}


@pytest.mark.parametrize(
    ("model", "case", "kind", "body"),
    [("iris", *c) for c in _iris_cases()] + [("mlp", *c) for c in _mlp_cases()],
    ids=[f"iris-{c[0]}" for c in _iris_cases()] + [f"mlp-{c[0]}" for c in _mlp_cases()],
)
def test_same_predictions_as_mlflow(
    servers: dict[str, tuple[Server, Server]], model: str, case: str, kind: str, body: Any
) -> None:
    shipyard, mlflow = servers[model]
    theirs = _post(mlflow, kind, body)
    ours = _post(shipyard, kind, body)
    assert theirs.status_code == 200, theirs.text[:500]
    assert ours.status_code == 200, ours.text[:500]
    assert set(ours.json()) == set(theirs.json()) == {"predictions"}
    expected, got = theirs.json()["predictions"], ours.json()["predictions"]
    assert got == expected, f"{case}: shipyard {got} != mlflow {expected}"


@pytest.mark.parametrize(
    ("model", "body"),
    [
        ("iris", {"dataframe_split": {"columns": IRIS_COLUMNS[:3], "data": [r[:3] for r in IRIS_ROWS]}}),
        ("iris", {"dataframe_records": [{"sepal length (cm)": "abc"}]}),
        ("mlp", {"inputs": [[1.0, 2.0]]}),
    ],
    ids=["missing-column", "bad-type", "bad-shape"],
)
def test_bad_inputs_are_client_errors_on_both(servers: dict[str, tuple[Server, Server]], model: str, body: Any) -> None:
    shipyard, mlflow = servers[model]
    theirs = _post(mlflow, "json", body)
    ours = _post(shipyard, "json", body)
    assert 400 <= theirs.status_code < 500
    assert ours.status_code == 400
    assert ours.json()["error_code"] == "BAD_REQUEST"
    assert "Traceback" not in ours.text
