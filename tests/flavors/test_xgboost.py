"""XGBoost flavor: Boosters and sklearn-API models saved in XGBoost's JSON/UBJSON (no pickle),
loaded back and through pyfunc with the framework's own numbers, and logged into a run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

import shipyard
import xgboost as xgb
from shipyard.exceptions import InvalidInput, ModelLoadError
from shipyard.flavors.environment import installed_version
from shipyard.tracking import fluent_state


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(7)
    X = pd.DataFrame(rng.normal(size=(120, 4)), columns=["f0", "f1", "f2", "f3"])
    y = (X["f0"] + 0.5 * X["f1"] > 0).astype(int).to_numpy() + (X["f2"] > 1).astype(int).to_numpy()
    return X, y


@pytest.fixture(scope="module")
def booster(data: tuple[pd.DataFrame, np.ndarray]) -> Any:
    X, y = data
    return xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 3}, xgb.DMatrix(X, label=y), 8)


def mlmodel(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load((path / "MLmodel").read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.mark.parametrize("model_format", ["ubj", "json"])
def test_booster_round_trip_in_xgboost_format(
    booster: Any, data: tuple[pd.DataFrame, np.ndarray], tmp_path: Path, model_format: str
) -> None:
    X, _ = data
    path = tmp_path / "m"
    shipyard.xgboost.save_model(booster, path, model_format=model_format, input_example=X.head(3))
    conf = mlmodel(path)["flavors"]["xgboost"]
    assert conf["model_format"] == model_format and conf["data"] == f"model.{model_format}"
    assert conf["model_class"] == "xgboost.core.Booster" and conf["xgb_version"] == xgb.__version__
    assert sorted(p.name for p in path.iterdir() if p.name.startswith("model.")) == [f"model.{model_format}"]
    if model_format == "json":
        assert (path / "model.json").read_text().startswith("{")
    expected = booster.predict(xgb.DMatrix(X))
    loaded = shipyard.xgboost.load_model(path)
    assert isinstance(loaded, xgb.Booster)
    np.testing.assert_array_equal(loaded.predict(xgb.DMatrix(X)), expected)
    # no pickle anywhere: the pickle policy refusing them changes nothing
    model = shipyard.pyfunc.load_model(path, allow_pickle=False)
    np.testing.assert_array_equal(model.predict(X), expected)
    np.testing.assert_array_equal(model.predict(X.to_numpy()), expected)


def test_signature_requirements_and_env_pin_the_installed_xgboost(booster: Any, data: Any, tmp_path: Path) -> None:
    X, _ = data
    shipyard.xgboost.save_model(booster, tmp_path / "m", input_example=X.head(2))
    model = shipyard.pyfunc.load_model(tmp_path / "m")
    assert model.signature is not None
    assert model.signature.inputs.input_names() == list(X.columns)
    assert model.signature.outputs is not None
    dist = next(d for d in ("xgboost-cpu", "xgboost") if installed_version(d))
    pin = f"{dist}=={installed_version(dist)}"
    assert pin in (tmp_path / "m" / "requirements.txt").read_text().splitlines()
    conda = yaml.safe_load((tmp_path / "m" / "conda.yaml").read_text())
    assert pin in conda["dependencies"][-1]["pip"]


@pytest.mark.parametrize("estimator", ["classifier", "regressor"])
def test_sklearn_api_models_come_back_as_their_class(data: Any, tmp_path: Path, estimator: str) -> None:
    X, y = data
    if estimator == "classifier":
        model: Any = xgb.XGBClassifier(n_estimators=6, max_depth=3).fit(X, y)
    else:
        model = xgb.XGBRegressor(n_estimators=6, max_depth=3).fit(X, X["f3"].to_numpy())
    shipyard.xgboost.save_model(model, tmp_path / "m", input_example=X.head(3))
    conf = mlmodel(tmp_path / "m")["flavors"]["xgboost"]
    assert conf["model_class"] == f"xgboost.sklearn.{type(model).__name__}"
    assert (
        "scikit-learn==" + str(installed_version("scikit-learn")) in (tmp_path / "m" / "requirements.txt").read_text()
    )
    loaded = shipyard.xgboost.load_model(tmp_path / "m")
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    if estimator == "classifier":
        np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(shipyard.pyfunc.load_model(tmp_path / "m").predict(X), model.predict(X))


def test_log_model_then_load_by_runs_uri(booster: Any, data: Any, tmp_path: Path, monkeypatch: Any) -> None:
    X, _ = data
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setattr(fluent_state.STATE, "experiment_id", None)
    shipyard.set_tracking_uri(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        with shipyard.start_run():
            info = shipyard.xgboost.log_model(booster, name="model", input_example=X.head(2), model_format="json")
        loaded = shipyard.xgboost.load_model(info.model_uri)
        np.testing.assert_array_equal(loaded.predict(xgb.DMatrix(X)), booster.predict(xgb.DMatrix(X)))
        assert info.flavors["xgboost"]["model_format"] == "json"
    finally:
        shipyard.set_tracking_uri(None)


def test_bad_arguments_name_the_field(booster: Any, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="model_format 'xgb' is not supported; allowed: ubj, json"):
        shipyard.xgboost.save_model(booster, tmp_path / "a", model_format="xgb")
    with pytest.raises(InvalidInput, match="xgb_model must be an xgboost.Booster .* got list"):
        shipyard.xgboost.save_model([1, 2], tmp_path / "b")
    with pytest.raises(InvalidInput, match="conda_env"):
        shipyard.xgboost.save_model(booster, tmp_path / "c", conda_env={"dependencies": []})
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_model_class_outside_xgboost_is_refused_before_importing_it(booster: Any, tmp_path: Path) -> None:
    path = tmp_path / "m"
    shipyard.xgboost.save_model(booster, path)
    text = (path / "MLmodel").read_text().replace("xgboost.core.Booster", "os.system")
    (path / "MLmodel").write_text(text)
    with pytest.raises(ModelLoadError, match="model_class 'os.system' is not a class of xgboost"):
        shipyard.xgboost.load_model(path)
    with pytest.raises(ModelLoadError, match="not a class of xgboost"):
        shipyard.pyfunc.load_model(path)
