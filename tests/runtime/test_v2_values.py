"""KServe V2 `infer` takes JSON tensor data by the same value rules as `/invocations`: a value
of the wrong kind or out of range is a 400 naming the input and the index, never coerced."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest


def infer(url: str, data: list[Any], *, datatype: str = "FP32", shape: list[int] | None = None) -> httpx.Response:
    tensor = {"name": "x", "datatype": datatype, "shape": shape or [1, 8], "data": data}
    return httpx.post(url + "/v2/models/mlp/infer", json={"inputs": [tensor]}, timeout=30)


@pytest.fixture(scope="module")
def server(onnx_dir: Path, tmp_path_factory: pytest.TempPathFactory, start_shipyard: Any) -> Any:
    with start_shipyard(onnx_dir, tmp_path_factory.mktemp("v2"), "--name", "mlp") as running:
        yield running


@pytest.mark.parametrize(
    ("data", "datatype", "message"),
    [
        ([True, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], "FP32", "got True (a boolean) at index [0]"),
        ([1.0, 1e39, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], "FP32", "outside float32's range"),
        ([1.0, "2", 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], "FP32", "got '2' (a string) at index [1]"),
        ([1.0, None, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], "FP32", "a tensor carries no nulls"),
        ([1, 2, 3, 4, 5, 6, 7, 2**31], "INT32", "outside int32's range"),
        ([1.5, 2, 3, 4, 5, 6, 7, 8], "INT64", "a whole number"),
    ],
)
def test_a_bad_value_is_refused_naming_input_and_index(
    server: Any, data: list[Any], datatype: str, message: str
) -> None:
    answer = infer(server.url, data, datatype=datatype)
    assert answer.status_code == 400, answer.text
    assert "input 'x'" in answer.json()["message"] and message in answer.json()["message"]


def test_good_values_in_flat_or_nested_data_answer_the_same(server: Any) -> None:
    flat = infer(server.url, [0.5] * 8)
    nested = infer(server.url, [[0.5] * 8])
    assert flat.status_code == nested.status_code == 200, (flat.text, nested.text)
    assert flat.json()["outputs"] == nested.json()["outputs"]


def test_data_that_does_not_fill_the_shape_is_refused(server: Any) -> None:
    answer = infer(server.url, [0.5] * 7)
    assert answer.status_code == 400 and "do not fill shape" in answer.json()["message"]
