"""`shipyard.data` without mlflow's help: digests equal mlflow's own (the real package computes
the reference in this process), string sources read as MLflow reads them, bad input is refused
naming the parameter, and a logged dataset reads back from the run as built."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.data import digest_utils
from scipy import sparse

import shipyard
from shipyard.autologging.sklearn_datasets import training_dataset
from shipyard.exceptions import InvalidInput
from shipyard.tracking.datasets_digest import MAX_ROWS, numpy_digest, pandas_digest

RNG = np.random.default_rng(7)
FRAMES = {
    "numbers": pd.DataFrame({"a": RNG.normal(size=50), "b": RNG.integers(0, 9, size=50)}),
    "text_and_dates": pd.DataFrame(
        {"word": ["x", "y"] * 5, "n": range(10), "when": pd.date_range("2024-01-01", periods=10)}
    ),
    "mixed_object": pd.DataFrame({"o": ["a", 1, "b"], "f": [0.5, 1.5, 2.5]}),
    "past_max_rows": pd.DataFrame({"v": np.arange(MAX_ROWS + 5, dtype=np.float32)}),
    "int_column_names": pd.DataFrame({0: [1, 2], 1: [3, 4]}),
}
ARRAYS = {
    "floats": (RNG.normal(size=(40, 3)), None),
    "with_targets": (RNG.normal(size=(40, 3)), RNG.integers(0, 2, size=40)),
    "objects": (np.array([{"a": 1}, {"b": 2}], dtype=object), None),
    "dict": ({"z": np.ones((4, 2)), "a": np.zeros(4)}, {"t": np.arange(4)}),
    "long": (np.arange(3 * MAX_ROWS).reshape(-1, 3), None),
}


@pytest.mark.parametrize("name", sorted(FRAMES))
def test_pandas_digest_is_mlflows(name: str) -> None:
    frame = FRAMES[name]
    with warnings.catch_warnings():  # NOTE: mlflow's own call warns under pandas 3 (`all(0)`)
        warnings.simplefilter("ignore", DeprecationWarning)
        expected = digest_utils.compute_pandas_digest(frame)
    assert pandas_digest(frame) == expected
    assert len(pandas_digest(frame)) == 8


@pytest.mark.parametrize("name", sorted(ARRAYS))
def test_numpy_digest_is_mlflows(name: str) -> None:
    features, targets = ARRAYS[name]
    assert numpy_digest(features, targets) == digest_utils.compute_numpy_digest(features, targets)


def test_digests_change_with_the_data() -> None:
    frame = FRAMES["numbers"]
    changed = frame.assign(a=frame["a"] + 1)
    assert pandas_digest(frame) != pandas_digest(changed)
    assert numpy_digest(np.zeros(3)) != numpy_digest(np.zeros(4))


@pytest.mark.parametrize(
    ("source", "source_type", "as_json"),
    [
        ("data/train.csv", "local", {"uri": "data/train.csv"}),
        ("file:///srv/train.csv", "local", {"uri": "file:///srv/train.csv"}),
        ("s3://bucket/train.parquet", "s3", {"uri": "s3://bucket/train.parquet"}),
        ("gs://bucket/train", "gs", {"uri": "gs://bucket/train"}),
        ("https://example.com/train.csv", "http", {"url": "https://example.com/train.csv"}),
    ],
)
def test_string_sources_are_typed_as_mlflow_types_them(source: str, source_type: str, as_json: object) -> None:
    dataset = shipyard.data.from_pandas(FRAMES["numbers"], source=source)
    assert dataset.source._get_source_type() == source_type
    assert json.loads(dataset.source.to_json()) == as_json
    assert dataset.to_dict()["source_type"] == source_type


def test_without_a_source_the_code_is_the_source() -> None:
    dataset = shipyard.data.from_numpy(np.ones((2, 2)))
    assert dataset.source._get_source_type() == "code"
    tags = json.loads(dataset.source.to_json())["tags"]
    assert tags["mlflow.source.type"] == "LOCAL"
    assert "mlflow.source.name" in tags


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: shipyard.data.from_pandas(FRAMES["numbers"], source="ftps2://x/y"), "unsupported scheme 'ftps2'"),
        (lambda: shipyard.data.from_pandas(FRAMES["numbers"], source=3), "parameter 'source' must be a path"),
        (lambda: shipyard.data.from_pandas(FRAMES["numbers"], targets="nope"), "'targets' names the column 'nope'"),
        (lambda: shipyard.data.from_pandas(FRAMES["numbers"], predictions="p"), "'predictions' names the column"),
        (lambda: shipyard.data.from_pandas([1, 2]), "parameter 'df' must be a pandas.DataFrame, got list"),
        (lambda: shipyard.data.from_numpy([1, 2]), "parameter 'features' must be a numpy array"),
        (lambda: shipyard.data.from_numpy(np.ones(2), name=5), "parameter 'name' must be text, got int"),
    ],
)
def test_bad_input_names_the_parameter(call: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        call()  # type: ignore[operator]


def test_a_logged_dataset_reads_back_from_the_run(fluent_cwd: Path) -> None:
    frame = FRAMES["numbers"]
    dataset = shipyard.data.from_pandas(frame, source="s3://b/k", name="numbers", targets="b")
    with shipyard.start_run() as run:
        shipyard.log_input(dataset, context="train", tags={"split": "all"})
    [entry] = shipyard.get_run(run.info.run_id).inputs.dataset_inputs
    assert (entry.dataset.name, entry.dataset.digest) == ("numbers", pandas_digest(frame))
    assert (entry.dataset.source_type, json.loads(entry.dataset.source)) == ("s3", {"uri": "s3://b/k"})
    assert json.loads(entry.dataset.profile) == {"num_rows": 50, "num_elements": 100}
    assert [c["name"] for c in json.loads(entry.dataset.schema)["mlflow_colspec"]] == ["a", "b"]
    assert {tag.key: tag.value for tag in entry.tags} == {"split": "all", "mlflow.data.context": "train"}
    found = shipyard.search_runs(filter_string="datasets.name = 'numbers'", output_format="list")
    assert [r.info.run_id for r in found] == [run.info.run_id]


def test_autologs_training_dataset_by_type() -> None:
    features = ARRAYS["with_targets"][0]
    labels = ARRAYS["with_targets"][1]
    dense = training_dataset(features, labels)
    from_sparse = training_dataset(sparse.csr_matrix(features), labels)
    assert from_sparse.digest == dense.digest == numpy_digest(features, labels)
    assert training_dataset(FRAMES["numbers"], FRAMES["numbers"]["b"]).df is FRAMES["numbers"]
    with pytest.raises(InvalidInput, match="unrecognised dataset type list"):
        training_dataset([[1.0, 2.0]], [0])
