"""LightGBM flavor: Boosters and sklearn-API models saved in LightGBM's native text (no pickle,
the estimator's sklearn state as JSON), loaded back with the framework's own numbers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

import lightgbm as lgb
import shipyard
from shipyard.exceptions import InvalidInput, ModelLoadError
from shipyard.flavors.environment import installed_version
from shipyard.tracking import fluent_state


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(11)
    X = pd.DataFrame(rng.normal(size=(150, 4)), columns=["f0", "f1", "f2", "f3"])
    y = (X["f0"] + 0.5 * X["f1"] > 0).astype(int).to_numpy() + (X["f2"] > 1).astype(int).to_numpy()
    return X, y


@pytest.fixture(scope="module")
def booster(data: tuple[pd.DataFrame, np.ndarray]) -> Any:
    X, y = data
    return lgb.train({"objective": "multiclass", "num_class": 3, "verbose": -1}, lgb.Dataset(X, label=y), 8)


def mlmodel(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load((path / "MLmodel").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_booster_round_trip_in_native_text(booster: Any, data: Any, tmp_path: Path) -> None:
    X, _ = data
    path = tmp_path / "m"
    shipyard.lightgbm.save_model(booster, path, input_example=X.head(3))
    conf = mlmodel(path)["flavors"]["lightgbm"]
    assert conf["model_class"] == "lightgbm.basic.Booster" and conf["data"] == "model.lgb"
    assert conf["lgb_version"] == lgb.__version__
    assert (path / "model.lgb").read_text().startswith("tree\n")
    pin = f"lightgbm=={installed_version('lightgbm')}"
    assert pin in (path / "requirements.txt").read_text().splitlines()
    loaded = shipyard.lightgbm.load_model(path, allow_pickle=False)
    assert isinstance(loaded, lgb.Booster)
    np.testing.assert_array_equal(loaded.predict(X), booster.predict(X))
    model = shipyard.pyfunc.load_model(path, allow_pickle=False)
    assert model.signature is not None and model.signature.inputs.input_names() == list(X.columns)
    np.testing.assert_array_equal(model.predict(X), booster.predict(X))
    np.testing.assert_array_equal(model.predict(X.to_numpy()), booster.predict(X))


@pytest.mark.parametrize("labels", ["ints", "strings"])
def test_classifier_without_pickle_keeps_classes_and_probabilities(data: Any, tmp_path: Path, labels: str) -> None:
    X, y = data
    target = y if labels == "ints" else np.array(["low", "mid", "high"], dtype=object)[y]
    model = lgb.LGBMClassifier(n_estimators=7, num_leaves=7, verbose=-1).fit(X, target)
    path = tmp_path / "m"
    shipyard.lightgbm.save_model(model, path, input_example=X.head(3))
    assert not [p.name for p in path.iterdir() if p.suffix in (".pkl", ".skops")]
    state = json.loads((path / "sklearn_state.json").read_text())
    assert state["params"]["n_estimators"] == 7 and state["classes"] == np.unique(target).tolist()
    loaded = shipyard.lightgbm.load_model(path, allow_pickle=False)
    assert type(loaded) is lgb.LGBMClassifier
    np.testing.assert_array_equal(loaded.classes_, model.classes_)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.feature_names_in_, model.feature_names_in_)
    pyfunc = shipyard.pyfunc.load_model(path, allow_pickle=False)
    np.testing.assert_array_equal(pyfunc.predict(X), model.predict(X))


def test_regressor_fitted_on_arrays_round_trips(data: Any, tmp_path: Path) -> None:
    X, _ = data
    array = X.to_numpy()
    model = lgb.LGBMRegressor(n_estimators=5, verbose=-1).fit(array, X["f3"].to_numpy())
    shipyard.lightgbm.save_model(model, tmp_path / "m", input_example=array[:2])
    loaded = shipyard.lightgbm.load_model(tmp_path / "m")
    assert type(loaded) is lgb.LGBMRegressor
    np.testing.assert_array_equal(loaded.predict(array), model.predict(array))
    np.testing.assert_array_equal(shipyard.pyfunc.load_model(tmp_path / "m").predict(array), model.predict(array))


def test_log_model_then_load_by_runs_uri(booster: Any, data: Any, tmp_path: Path, monkeypatch: Any) -> None:
    X, _ = data
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setattr(fluent_state.STATE, "experiment_id", None)
    shipyard.set_tracking_uri(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        with shipyard.start_run():
            info = shipyard.lightgbm.log_model(booster, name="model", input_example=X.head(2))
        np.testing.assert_array_equal(shipyard.lightgbm.load_model(info.model_uri).predict(X), booster.predict(X))
        assert info.flavors["lightgbm"]["serialization_format"] == "lightgbm_text"
    finally:
        shipyard.set_tracking_uri(None)


def test_bad_arguments_name_the_field(booster: Any, data: Any, tmp_path: Path) -> None:
    X, y = data
    with pytest.raises(InvalidInput, match="serialization_format 'cloudpickle' is not supported for LightGBM"):
        shipyard.lightgbm.save_model(booster, tmp_path / "a", serialization_format="cloudpickle")
    with pytest.raises(InvalidInput, match="skops_trusted_types"):
        shipyard.lightgbm.save_model(booster, tmp_path / "a", skops_trusted_types=["x.Y"])
    with pytest.raises(InvalidInput, match="lgb_model must be a lightgbm.Booster .* got dict"):
        shipyard.lightgbm.save_model({}, tmp_path / "a")
    with pytest.raises(InvalidInput, match="is not fitted"):
        shipyard.lightgbm.save_model(lgb.LGBMRegressor(), tmp_path / "a")

    def custom(y_true: Any, y_pred: Any) -> Any:
        return y_pred - y_true, np.ones_like(y_pred)

    custom_model = lgb.LGBMRegressor(objective=custom, n_estimators=2, verbose=-1).fit(X, X["f3"])
    with pytest.raises(InvalidInput, match=r"params \['objective'\] are Python callables"):
        shipyard.lightgbm.save_model(custom_model, tmp_path / "b")
    assert not (tmp_path / "a").exists()


def test_a_model_class_outside_lightgbm_is_refused(booster: Any, tmp_path: Path) -> None:
    path = tmp_path / "m"
    shipyard.lightgbm.save_model(booster, path)
    (path / "MLmodel").write_text((path / "MLmodel").read_text().replace("lightgbm.basic.Booster", "subprocess.Popen"))
    with pytest.raises(ModelLoadError, match="model_class 'subprocess.Popen' is not a class of lightgbm"):
        shipyard.lightgbm.load_model(path)
