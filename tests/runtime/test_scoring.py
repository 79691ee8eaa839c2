"""Request parsing and response shaping of `/invocations`, in process (fast)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest

from shipyard.exceptions import SchemaEnforcementError, UnsupportedMediaType
from shipyard.runtime.rows import concat_rows, count_rows, split_rows
from shipyard.runtime.scoring import as_frame, parse_invocation, predictions_body

JSON = "application/json"


def parse(payload: object, content_type: str = JSON) -> object:
    return parse_invocation(orjson.dumps(payload), content_type)


def test_formats_parse_to_what_prepare_input_takes() -> None:
    split = parse({"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2], [3, 4]]}})
    assert split.data == {"a": [1, 3], "b": [2, 4]} and split.format == "dataframe_split"
    assert parse({"dataframe_split": {"data": [[1, 2]]}}).data == [[1, 2]]
    assert parse({"dataframe_records": [{"a": 1}]}).data == [{"a": 1}]
    assert parse({"instances": [{"a": 1, "b": 2}, {"a": 3, "b": 4}]}).data == {"a": [1, 3], "b": [2, 4]}
    assert parse({"instances": [[1, 2]]}).data == [[1, 2]]
    assert parse({"inputs": {"x": [1.0]}, "params": {"k": 2}}).params == {"k": 2}
    csv = parse_invocation(b"a,b\n1,2\n3,4\n", "text/csv; charset=utf-8")
    assert csv.data.header == ["a", "b"] and csv.data.rows == [["1", "2"], ["3", "4"]]
    assert as_frame(csv).shape == (2, 2)


@pytest.mark.parametrize(
    ("payload", "mentions"),
    [
        ({"dataframe_split": {"columns": ["a", "b"], "data": [[1]]}}, "dataframe_split.data[0]"),
        ({"dataframe_split": [[1]]}, "dataframe_split"),
        ({"dataframe_records": {"a": 1}}, "dataframe_records"),
        ({"instances": [{"a": 1}, {"b": 2}]}, "instances[1]"),
        ({"instances": 3}, "instances"),
        ({"inputs": "text"}, "inputs"),
        ({"inputs": [1], "extra": 1}, "extra"),
        ({}, "exactly one"),
        ({"inputs": [1], "params": "x"}, "params"),
    ],
)
def test_bad_bodies_name_the_field(payload: object, mentions: str) -> None:
    with pytest.raises(SchemaEnforcementError) as info:
        parse(payload)
    assert mentions in info.value.message and info.value.http_status == 400


def test_bad_csv_and_content_types() -> None:
    with pytest.raises(SchemaEnforcementError):
        parse_invocation(b'a,b\n1,"2\n', "text/csv")
    for content_type in (None, "text/plain", "application/json; charset=latin-1", "application/json; q=1"):
        with pytest.raises(UnsupportedMediaType) as info:
            parse_invocation(b"{}", content_type)
        assert info.value.http_status == 415


@pytest.mark.parametrize(
    "output",
    [
        np.array([0.1, 0.2], dtype=np.float32),
        np.array([[1, 2], [3, 4]], dtype=np.int64),
        np.array([True, False]),
        np.array(["a", "b"], dtype=object),
        np.arange(6, dtype=np.float64).reshape(3, 2)[:, 0],  # not contiguous
        pd.DataFrame({"a": [1.5, 2.5], "b": ["x", "y"]}),
        pd.Series([0.25, 0.5], name="score"),
        pd.Series([1, 2]),
        {"y": np.array([[0.1, 0.3]], dtype=np.float32), "z": [1, 2]},
        [np.float32(0.1), np.float32(0.7)],
        [1, 2, 3],
        "text",
    ],
    ids=[
        "f32",
        "i64",
        "bool",
        "object",
        "strided",
        "frame",
        "series",
        "series-unnamed",
        "dict",
        "list-np-scalars",
        "list",
        "str",
    ],
)
def test_predictions_are_shaped_like_mlflow(output: object) -> None:
    import warnings

    with warnings.catch_warnings():
        # NOTE: importing mlflow's scoring server warns from inside mlflow (type-hint inference)
        warnings.simplefilter("ignore")
        from mlflow.pyfunc.scoring_server import predictions_to_json

    class Sink:
        text = ""

        def write(self, chunk: str) -> None:
            self.text += chunk

    sink = Sink()
    predictions_to_json(output, sink)
    assert json.loads(predictions_body(output)) == json.loads(sink.text)


def test_rows_concat_and_split_round_trip() -> None:
    parts = [np.arange(4).reshape(2, 2), np.arange(2).reshape(1, 2)]
    whole = concat_rows(parts)
    assert count_rows(whole) == 3
    back = split_rows(whole, [2, 1])
    np.testing.assert_array_equal(back[0], parts[0])
    named = concat_rows([{"a": np.ones(2)}, {"a": np.zeros(1)}])
    assert count_rows(named) == 3
    frames = concat_rows([pd.DataFrame({"a": [1]}), pd.DataFrame({"a": [2, 3]})])
    assert frames["a"].tolist() == [1, 2, 3]
    pieces = split_rows(pd.Series([1, 2, 3]), [1, 2])
    assert [p.tolist() for p in pieces] == [[1], [2, 3]]
    dict_pieces = split_rows({"y": np.arange(3)}, [2, 1])
    assert dict_pieces[1]["y"].tolist() == [2]
    with pytest.raises(Exception, match="one output per input row"):
        split_rows(np.arange(2), [2, 1])


def test_chat_style_bodies_are_taken_whole() -> None:
    """MLflow's scoring server: any of messages/prompt/input makes the body the input; only the
    keys the params schema names become params (`{}` when none does, as MLflow passes)."""
    body = {"messages": [{"role": "user", "content": "hi"}], "temperature": 0.2, "params": {"k": 1}}
    parsed = parse_invocation(orjson.dumps(body), JSON, frozenset({"temperature"}))
    assert parsed.whole and parsed.format == "chat"
    assert parsed.data == {"messages": body["messages"], "params": {"k": 1}}
    assert parsed.params == {"temperature": 0.2}
    for key in ("prompt", "input"):
        plain = parse({key: "x", "inputs": [1]})
        assert plain.whole and plain.data == {key: "x", "inputs": [1]} and plain.params == {}
    assert json.loads(predictions_body({"answer": 1}, wrapped=False)) == {"answer": 1}


def test_split_keeps_integer_column_names_and_refuses_bad_ones() -> None:
    split = parse({"dataframe_split": {"columns": [0, 1], "data": [[1, 2]]}})
    assert split.data == {0: [1], 1: [2]}
    assert list(as_frame(split).columns) == [0, 1]
    for columns, mentions in (([0, True], "columns[1]"), (["a", "a"], "repeats 'a'"), ([None], "columns[0]")):
        with pytest.raises(SchemaEnforcementError) as info:
            parse({"dataframe_split": {"columns": columns, "data": [[1] * len(columns)]}})
        assert mentions in info.value.message


def test_parquet_bodies_parse_to_a_frame() -> None:
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    for content_type in ("application/vnd.apache.parquet", "application/x-parquet"):
        parsed = parse_invocation(buffer.getvalue(), content_type)
        assert parsed.format == "parquet"
        pd.testing.assert_frame_equal(parsed.data, frame)
    with pytest.raises(SchemaEnforcementError, match="not a valid Parquet file"):
        parse_invocation(b"PAR1 broken", "application/vnd.apache.parquet")


def test_parquet_without_pyarrow_is_a_415_naming_the_extra(tmp_path: Path) -> None:
    """A process where pyarrow cannot be imported (`sys.modules[name] = None` is Python's own
    way to make an import fail), as on an install without the `parquet` extra."""
    code = textwrap.dedent(
        """
        import sys
        sys.modules["pyarrow"] = None
        from shipyard.exceptions import UnsupportedMediaType
        from shipyard.runtime.scoring import parse_invocation
        try:
            parse_invocation(b"PAR1", "application/vnd.apache.parquet")
        except UnsupportedMediaType as exc:
            print(exc.http_status, exc.message)
        """
    )
    # NOTE: cwd outside the checkout: its root modules (sklearn.py, types/) would shadow libraries.
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True, cwd=tmp_path
    )
    assert done.stdout.startswith("415 ") and "shipyard[parquet]" in done.stdout
