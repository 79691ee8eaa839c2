"""The bodies of MLflow's scoring protocol beyond plain tables, scored by `shipyard serve` and by
`mlflow models serve --env-manager local` on the very same MLflow-saved model directories:
nested signatures (Array/Object/Map/Any, optional fields), chat-style bodies, integer column
names, Parquet, and `GET /version`."""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

import shipyard

Server = Any

MESSAGE = {"role": "user", "content": "hi"}
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.2, 2.9, 4.3, 1.3]]


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """NOTE: mlflow warns from inside itself (type hints, pickling); silenced around its calls only."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def build_models(root: Path, echo: Any) -> dict[str, Path]:
    """MLflow-saved: the echo python model with a nested signature and a params schema, the same
    without a signature, and sklearn models fitted on a bare array with and without a signature
    (MLflow names such columns 0, 1, ...: integer names)."""
    with quiet():
        import mlflow.sklearn
        from mlflow.models import ModelSignature, infer_signature
        from mlflow.types.schema import AnyType, Array, ColSpec, Map, Object, ParamSchema, ParamSpec, Property, Schema
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    message = Object([Property("role", "string"), Property("content", "string", required=False)])
    nested = ModelSignature(
        inputs=Schema(
            [
                ColSpec(Array(message), "messages"),
                ColSpec(Map("double"), "weights", required=False),
                ColSpec(AnyType(), "extra", required=False),
            ]
        ),
        params=ParamSchema([ParamSpec("temperature", "double", 0.7)]),
    )
    x, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=500).fit(x, y)
    paths = {"nested": echo(root / "nested", nested), "nosig": echo(root / "nosig")}
    with quiet():
        frame = pd.DataFrame(x)
        paths["sk_intnames"] = root / "sk_intnames"
        mlflow.sklearn.save_model(
            model, str(paths["sk_intnames"]), signature=infer_signature(frame, model.predict(frame))
        )
        paths["sk_nosig"] = root / "sk_nosig"
        mlflow.sklearn.save_model(model, str(paths["sk_nosig"]))
    return paths


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory, start_shipyard: Any, start_mlflow: Any, mlflow_echo_model: Any
) -> Iterator[dict[str, tuple[Server, Server]]]:
    tmp = tmp_path_factory.mktemp("bodies")
    paths = build_models(tmp, mlflow_echo_model)
    with contextlib.ExitStack() as stack:
        yield {
            name: (stack.enter_context(start_shipyard(path, tmp)), stack.enter_context(start_mlflow(path, tmp)))
            for name, path in paths.items()
        }


CASES = [
    ("nested", "chat", {"messages": [MESSAGE]}),
    ("nested", "chat-param", {"messages": [MESSAGE], "temperature": 0.2}),
    ("nested", "chat-optional", {"messages": [MESSAGE], "weights": {"a": 1}, "extra": [1, "x"]}),
    ("nested", "chat-optional-property", {"messages": [{"role": "user"}]}),
    ("nested", "chat-wrong-type", {"messages": [{"role": "user", "content": 3}]}),
    ("nested", "inputs-one-row", {"inputs": {"messages": [MESSAGE]}}),
    ("nested", "records", {"dataframe_records": [{"messages": [MESSAGE]}, {"messages": [], "weights": {"w": 2.5}}]}),
    ("nested", "split", {"dataframe_split": {"columns": ["messages"], "data": [[[MESSAGE]]]}}),
    ("nested", "instances", {"instances": [{"messages": [MESSAGE]}]}),
    ("nested", "not-a-list", {"dataframe_records": [{"messages": "nope"}]}),
    ("nested", "unknown-property", {"dataframe_records": [{"messages": [{"role": "u", "zz": 1}]}]}),
    ("nested", "bad-map-value", {"dataframe_records": [{"messages": [MESSAGE], "weights": {"a": "x"}}]}),
    ("nosig", "chat", {"messages": [MESSAGE], "temperature": 0.5}),
    ("nosig", "completions", {"prompt": "hello", "max_tokens": 3}),
    ("nosig", "embeddings", {"input": ["a", "b"], "params": {"k": 1}}),
    ("nosig", "split-int-columns", {"dataframe_split": {"columns": [0, 1], "data": [[1, 2], [3, 4]]}}),
    ("nosig", "split-no-columns", {"dataframe_split": {"data": [[1, 2], [3, 4]]}}),
    ("nosig", "records-ragged", {"dataframe_records": [{"a": 1}, {"a": 2, "b": 3}]}),
    ("nosig", "inputs-columns", {"inputs": {"a": [1, 2]}}),
    ("nosig", "inputs-rows", {"inputs": [[1, 2]]}),
    ("sk_intnames", "split-int-columns", {"dataframe_split": {"columns": [0, 1, 2, 3], "data": ROWS}}),
    ("sk_intnames", "split-no-columns", {"dataframe_split": {"data": ROWS}}),
    ("sk_intnames", "inputs-rows", {"inputs": ROWS}),
    ("sk_nosig", "split-int-columns", {"dataframe_split": {"columns": [0, 1, 2, 3], "data": ROWS}}),
    ("sk_nosig", "split-no-columns", {"dataframe_split": {"data": ROWS}}),
    ("sk_nosig", "inputs-rows", {"inputs": ROWS}),
]


@pytest.mark.parametrize(("model", "case", "body"), CASES, ids=[f"{m}-{c}" for m, c, _ in CASES])
def test_same_answer_as_mlflow(servers: dict[str, tuple[Server, Server]], model: str, case: str, body: Any) -> None:
    shipyard_server, mlflow_server = servers[model]
    theirs = httpx.post(mlflow_server.url + "/invocations", json=body, timeout=30)
    ours = httpx.post(shipyard_server.url + "/invocations", json=body, timeout=30)
    if theirs.status_code == 200:
        assert ours.status_code == 200, f"{case}: {ours.text[:500]}"
        assert ours.json() == theirs.json(), case
    else:
        assert 400 <= theirs.status_code < 500, theirs.text[:300]
        assert ours.status_code == 400, f"{case}: {ours.status_code} {ours.text[:300]}"
        assert ours.json()["error_code"] == "BAD_REQUEST" and "Traceback" not in ours.text


def test_a_wrong_value_is_named_by_its_path(servers: dict[str, tuple[Server, Server]]) -> None:
    ours, _ = servers["nested"]
    body = {"dataframe_records": [{"messages": [MESSAGE]}, {"messages": [{"role": "u", "content": 7}]}]}
    answer = httpx.post(ours.url + "/invocations", json=body, timeout=30)
    assert answer.status_code == 400
    assert "column 'messages' row 1[0].content: expected string" in answer.json()["message"]


def test_parquet_bodies(servers: dict[str, tuple[Server, Server]]) -> None:
    buffer = io.BytesIO()
    pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}).to_parquet(buffer)
    for model in ("nosig", "sk_nosig"):
        ours, theirs = servers[model]
        body = buffer.getvalue() if model == "nosig" else _parquet(pd.DataFrame(ROWS))
        expected = httpx.post(
            theirs.url + "/invocations", content=body, headers={"content-type": "application/vnd.apache.parquet"}
        )
        assert expected.status_code == 200, expected.text[:300]
        for content_type in ("application/vnd.apache.parquet", "application/x-parquet"):
            got = httpx.post(ours.url + "/invocations", content=body, headers={"content-type": content_type})
            assert got.status_code == 200, got.text[:300]
            assert got.json() == expected.json()
    ours, _ = servers["nosig"]
    broken = httpx.post(
        ours.url + "/invocations", content=b"not parquet", headers={"content-type": "application/vnd.apache.parquet"}
    )
    assert broken.status_code == 400 and "not a valid Parquet file" in broken.json()["message"]


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.columns = [str(c) for c in frame.columns]  # NOTE: Parquet column names are text
    frame.to_parquet(buffer)
    return buffer.getvalue()


def test_chat_style_body_to_a_model_that_is_not_a_python_model(servers: dict[str, tuple[Server, Server]]) -> None:
    ours, _ = servers["sk_nosig"]
    answer = httpx.post(ours.url + "/invocations", json={"messages": [MESSAGE]}, timeout=30)
    assert answer.status_code == 400
    assert "only taken by custom python models" in answer.json()["message"]


def test_version_is_plain_text_unless_json_is_asked_for(servers: dict[str, tuple[Server, Server]]) -> None:
    import mlflow

    ours, theirs = servers["nosig"]
    assert httpx.get(theirs.url + "/version").text == mlflow.__version__
    plain = httpx.get(ours.url + "/version")
    assert plain.status_code == 200 and plain.text == shipyard.__version__
    document = httpx.get(ours.url + "/version", headers={"Accept": "application/json"}).json()
    assert document["shipyard_version"] == shipyard.__version__ and document["state"] == "ready"


def test_numpy_rows_reach_a_model_without_signature_as_mlflow_sends_them(
    servers: dict[str, tuple[Server, Server]],
) -> None:
    ours, _ = servers["nosig"]
    answer = httpx.post(ours.url + "/invocations", json={"inputs": np.eye(2).tolist()}, timeout=30).json()
    assert answer["predictions"]["type"] == "ndarray"
