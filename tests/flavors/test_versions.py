"""Recorded versions: a failed load says which differ from the running ones; a good load is quiet."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import yaml

import shipyard
from shipyard.exceptions import ModelLoadError


def _rewrite(path: Path, **changes: str) -> None:
    mlmodel = yaml.safe_load((path / "MLmodel").read_text())
    mlmodel["flavors"]["sklearn"]["sklearn_version"] = changes["sklearn"]
    mlmodel["flavors"]["python_function"]["python_version"] = changes["python"]
    mlmodel["shipyard_version"] = changes["shipyard"]
    (path / "MLmodel").write_text(yaml.safe_dump(mlmodel))


def test_failed_load_names_the_versions_that_differ(tmp_path: Path, iris_lr_frame) -> None:
    import sklearn

    path = tmp_path / "m"
    shipyard.sklearn.save_model(iris_lr_frame, path, serialization_format="cloudpickle")
    _rewrite(path, sklearn="0.20.0", python="3.6.15", shipyard=shipyard.__version__)
    (path / "model.pkl").write_bytes(b"not a pickle")
    with pytest.raises(ModelLoadError) as info:
        shipyard.pyfunc.load_model(path)
    message = str(info.value)
    assert f"scikit-learn: saved with 0.20.0, running {sklearn.__version__}" in message
    assert "python: saved with 3.6.15" in message
    assert "shipyard:" not in message  # it matches, so it is not blamed
    assert "UnpicklingError" in message  # and the actual cause is there too


def test_failed_load_with_matching_versions_says_so(tmp_path: Path, iris_lr_frame) -> None:
    path = tmp_path / "m"
    shipyard.sklearn.save_model(iris_lr_frame, path, serialization_format="cloudpickle")
    (path / "model.pkl").write_bytes(b"")
    with pytest.raises(ModelLoadError, match="all recorded versions match"):
        shipyard.pyfunc.load_model(path)


def test_successful_load_with_other_versions_is_quiet(tmp_path: Path, iris, iris_lr_frame) -> None:
    X, _ = iris
    path = tmp_path / "m"
    shipyard.sklearn.save_model(iris_lr_frame, path, input_example=X.head(2))
    _rewrite(path, sklearn="0.20.0", python="3.6.15", shipyard="0.0.1")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = shipyard.pyfunc.load_model(path)
        model.predict(X.head(2))
    assert caught == []
