"""The skops policy (issue #13, item 6): with pickles refused, skops trusts only the types the
loading side names (`trusted_types=` / SHIPYARD_SKOPS_TRUSTED_TYPES), never the list in the
model's own folder; the default sklearn format is skops where the estimator allows it, as in
MLflow 3, and cloudpickle otherwise, said in the save's log line."""

from __future__ import annotations

import logging
import operator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import shipyard
from shipyard.exceptions import UnsafeModelRefused
from shipyard.registry.digest import compute_digest

NEG = "_operator.neg"


@pytest.fixture(scope="module")
def neg_pipeline(iris: tuple[Any, np.ndarray]) -> Any:
    """A pipeline skops can write but loads only when `_operator.neg` is trusted."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y = iris
    return make_pipeline(FunctionTransformer(operator.neg), LogisticRegression(max_iter=500)).fit(X.to_numpy(), y)


def _flavor(path: Path) -> dict[str, Any]:
    conf: dict[str, Any] = yaml.safe_load((path / "MLmodel").read_text())["flavors"]["sklearn"]
    return conf


def test_default_format_is_skops_and_says_so(tmp_path: Path, iris_lr_frame: Any, caplog: Any) -> None:
    with caplog.at_level(logging.INFO, logger="shipyard.flavors.sklearn"):
        shipyard.sklearn.save_model(iris_lr_frame, tmp_path / "m")
    conf = _flavor(tmp_path / "m")
    assert (conf["serialization_format"], conf["pickled_model"]) == ("skops", "model.skops")
    assert not (tmp_path / "m" / "model.pkl").exists()
    assert "saved LogisticRegression as skops" in caplog.text
    # skops is not pickle: it loads with pickles refused (only skops' default types are needed)
    loaded = shipyard.sklearn.load_model(tmp_path / "m", allow_pickle=False)
    assert type(loaded).__name__ == "LogisticRegression"
    assert "skops" in (tmp_path / "m" / "requirements.txt").read_text()


def test_default_falls_back_to_cloudpickle_and_says_why(tmp_path: Path, neg_pipeline: Any, caplog: Any) -> None:
    with caplog.at_level(logging.INFO, logger="shipyard.flavors.sklearn"):
        shipyard.sklearn.save_model(neg_pipeline, tmp_path / "m")
    assert _flavor(tmp_path / "m")["serialization_format"] == "cloudpickle"
    assert sorted(p.name for p in (tmp_path / "m").iterdir() if p.name.startswith("model.")) == ["model.pkl"]
    assert "saved Pipeline as cloudpickle" in caplog.text and NEG in caplog.text
    with caplog.at_level(logging.INFO, logger="shipyard.flavors.sklearn"):
        shipyard.sklearn.save_model(neg_pipeline, tmp_path / "trusted", skops_trusted_types=[NEG])
    assert _flavor(tmp_path / "trusted")["serialization_format"] == "skops"  # vouched for: skops after all


def test_without_pickles_the_models_own_trusted_list_is_not_trusted(tmp_path: Path, neg_pipeline: Any) -> None:
    shipyard.sklearn.save_model(neg_pipeline, tmp_path / "m", skops_trusted_types=[NEG])
    assert _flavor(tmp_path / "m")["skops_trusted_types"] == [NEG]
    with pytest.raises(UnsafeModelRefused, match=NEG) as info:
        shipyard.sklearn.load_model(tmp_path / "m", allow_pickle=False)
    assert info.value.error_code == "PERMISSION_DENIED"
    assert "SHIPYARD_SKOPS_TRUSTED_TYPES" in info.value.message and "trusted_types" in info.value.message
    with pytest.raises(UnsafeModelRefused, match=NEG):
        shipyard.pyfunc.load_model(tmp_path / "m", allow_pickle=False)
    # pickles allowed: the saved list is honoured, as MLflow does
    assert shipyard.sklearn.load_model(tmp_path / "m", allow_pickle=True) is not None


def test_trust_from_the_loading_side(
    tmp_path: Path, neg_pipeline: Any, iris: tuple[Any, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    X, _ = iris
    shipyard.sklearn.save_model(neg_pipeline, tmp_path / "m", skops_trusted_types=[NEG])
    expected = neg_pipeline.predict(X.to_numpy()[:5])
    loaded = shipyard.sklearn.load_model(tmp_path / "m", allow_pickle=False, trusted_types=[NEG])
    np.testing.assert_array_equal(loaded.predict(X.to_numpy()[:5]), expected)
    model = shipyard.pyfunc.load_model(tmp_path / "m", allow_pickle=False, skops_trusted_types=(NEG,))
    np.testing.assert_array_equal(model.predict(X.to_numpy()[:5]), expected)
    monkeypatch.setenv("SHIPYARD_ALLOW_PICKLE", "false")
    monkeypatch.setenv("SHIPYARD_SKOPS_TRUSTED_TYPES", f"numpy.float32, {NEG}")
    shipyard.set_tracking_uri(None)  # the settings are read again on next use
    np.testing.assert_array_equal(shipyard.sklearn.load_model(tmp_path / "m").predict(X.to_numpy()[:5]), expected)
    np.testing.assert_array_equal(shipyard.pyfunc.load_model(tmp_path / "m").predict(X.to_numpy()[:5]), expected)
    with pytest.raises(UnsafeModelRefused, match=NEG):  # an explicit list replaces the variable's
        shipyard.sklearn.load_model(tmp_path / "m", trusted_types=[])


def test_a_folder_cannot_vouch_for_itself(tmp_path: Path, neg_pipeline: Any) -> None:
    """Whoever can write an unregistered folder edits its MLmodel: that buys nothing without pickles."""
    shipyard.sklearn.save_model(neg_pipeline, tmp_path / "m", serialization_format="skops", skops_trusted_types=[NEG])
    mlmodel = tmp_path / "m" / "MLmodel"
    doc = yaml.safe_load(mlmodel.read_text())
    doc["flavors"]["sklearn"]["skops_trusted_types"] = [NEG, "builtins.eval", "os.system"]
    mlmodel.write_text(yaml.safe_dump(doc))
    with pytest.raises(UnsafeModelRefused, match=NEG):
        shipyard.sklearn.load_model(tmp_path / "m", allow_pickle=False)


def test_the_trusted_list_is_part_of_the_digest(tmp_path: Path, neg_pipeline: Any) -> None:
    """A registered version is addressed by the digest of its files, MLmodel included: changing
    the trusted list makes another version, it cannot be slipped under an existing one."""
    shipyard.sklearn.save_model(neg_pipeline, tmp_path / "m", serialization_format="skops", skops_trusted_types=[NEG])
    before = compute_digest(tmp_path / "m")
    mlmodel = tmp_path / "m" / "MLmodel"
    doc = yaml.safe_load(mlmodel.read_text())
    doc["flavors"]["sklearn"]["skops_trusted_types"] = [NEG, "os.system"]
    mlmodel.write_text(yaml.safe_dump(doc))
    assert compute_digest(tmp_path / "m") != before


# NOTE: MLflow's own save warns while it infers a type hint from sklearn's `predict(X: Any)`.
@pytest.mark.filterwarnings("ignore:.*Any type hint is inferred:UserWarning")
def test_mlflow_saved_skops_dirs_still_load(tmp_path: Path, iris_lr_frame: Any, neg_pipeline: Any) -> None:
    import mlflow.sklearn

    mlflow.sklearn.save_model(iris_lr_frame, tmp_path / "plain")  # MLflow 3's default: skops
    assert _flavor(tmp_path / "plain")["serialization_format"] == "skops"
    assert shipyard.sklearn.load_model(tmp_path / "plain", allow_pickle=False).coef_.shape == iris_lr_frame.coef_.shape
    mlflow.sklearn.save_model(neg_pipeline, tmp_path / "neg", skops_trusted_types=[NEG])
    assert shipyard.sklearn.load_model(tmp_path / "neg") is not None  # pickles allowed: its list counts
    with pytest.raises(UnsafeModelRefused, match=NEG):
        shipyard.sklearn.load_model(tmp_path / "neg", allow_pickle=False)
    assert shipyard.sklearn.load_model(tmp_path / "neg", allow_pickle=False, trusted_types=[NEG]) is not None


def test_mlflow_names_for_the_formats() -> None:
    import mlflow.sklearn

    for name in ("SERIALIZATION_FORMAT_SKOPS", "SERIALIZATION_FORMAT_PICKLE", "SERIALIZATION_FORMAT_CLOUDPICKLE"):
        assert getattr(shipyard.sklearn, name) == getattr(mlflow.sklearn, name)
    assert shipyard.sklearn.SUPPORTED_SERIALIZATION_FORMATS == mlflow.sklearn.SUPPORTED_SERIALIZATION_FORMATS
