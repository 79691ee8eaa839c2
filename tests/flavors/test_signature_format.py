"""Signatures serialize exactly as MLflow writes them, and inference maps dtypes like MLflow."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import shipyard
from shipyard import ColSpec, ModelSignature, ParamSchema, ParamSpec, Schema, TensorSpec, infer_signature
from shipyard.flavors.signature import SignatureWarning

# What mlflow 3.17.2's infer_signature(...).to_dict() gives for the same data (recorded).
MLFLOW_FRAME = (
    '[{"type": "long", "name": "a", "required": true}, {"type": "double", "name": "b", "required": false}, '
    '{"type": "string", "name": "s", "required": true}, {"type": "long", "name": "i", "required": false}, '
    '{"type": "boolean", "name": "bo", "required": true}, {"type": "datetime", "name": "d", "required": true}, '
    '{"type": "binary", "name": "by", "required": true}]'
)
MLFLOW_PARAMS = (
    '[{"name": "k", "default": 3, "shape": null, "type": "long"}, {"name": "t", "default": "x", "shape": null, '
    '"type": "string"}, {"name": "arr", "default": [1, 2], "shape": [-1], "type": "long"}]'
)
MLFLOW_TENSORS = (
    '[{"name": "x", "type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]}}, '
    '{"name": "y", "type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]'
)


def test_inference_and_serialization_match_mlflow() -> None:
    df = pd.DataFrame(
        {
            "a": [1, 2],
            "b": [1.5, None],
            "s": ["x", "y"],
            "i": pd.array([1, None], dtype="Int64"),
            "bo": [True, False],
            "d": pd.to_datetime(["2020-01-01", "2020-01-02"]),
            "by": [b"a", b"b"],
        }
    )
    sig = infer_signature(df, np.array([1.0, 2.0]), params={"k": 3, "t": "x", "arr": [1, 2]})
    assert sig.to_dict() == {
        "inputs": MLFLOW_FRAME,
        "outputs": '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1]}}]',
        "params": MLFLOW_PARAMS,
    }
    tensors = infer_signature({"x": np.zeros((2, 3), np.float32), "y": np.zeros(2, np.int64)})
    assert tensors.to_dict()["inputs"] == MLFLOW_TENSORS
    records = infer_signature([{"a": 1, "b": "x"}], ["y"])
    assert records.to_dict()["outputs"] == '[{"type": "string", "required": true}]'


def test_signature_round_trips_through_dict() -> None:
    sig = ModelSignature(
        inputs=Schema([ColSpec("double", "a"), ColSpec("string", "b", required=False)]),
        outputs=Schema([TensorSpec(np.dtype("float32"), (-1, 2))]),
        params=ParamSchema([ParamSpec("n", "long", 1), ParamSpec("xs", "double", [0.5], (-1,))]),
    )
    assert ModelSignature.from_dict(sig.to_dict()) == sig


def test_schema_mistakes_are_refused() -> None:
    with pytest.raises(shipyard.exceptions.InvalidInput, match="'x'"):
        ColSpec("decimal", "x")
    with pytest.raises(shipyard.exceptions.InvalidInput, match="mixes"):
        Schema([ColSpec("long", "a"), TensorSpec(np.dtype("float32"), (-1,), "b")])
    with pytest.raises(shipyard.exceptions.InvalidInput, match="repeats"):
        Schema([ColSpec("long", "a"), ColSpec("double", "a")])


def test_signature_that_cannot_be_inferred_is_reported(tmp_path: Path, iris_lr_frame) -> None:
    with pytest.warns(SignatureWarning, match="could not be inferred"):
        shipyard.sklearn.save_model(iris_lr_frame, tmp_path / "m", input_example={"a": [1, "x"]})
    assert shipyard.pyfunc.load_model(tmp_path / "m").signature is None


def test_no_signature_on_purpose_is_quiet(tmp_path: Path, iris, iris_lr_frame) -> None:
    X, _ = iris
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        shipyard.sklearn.save_model(iris_lr_frame, tmp_path / "m", signature=False, input_example=X.head(1))
    model = shipyard.pyfunc.load_model(tmp_path / "m")
    assert model.signature is None and not model.batchable
    assert (model.predict(X.head(3)) == iris_lr_frame.predict(X.head(3))).all()
