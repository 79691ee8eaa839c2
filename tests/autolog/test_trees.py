"""XGBoost and LightGBM autolog on real training: sklearn-API fits log the estimator's params, each
iteration's eval metrics with its step, feature importance and the fitted estimator (which loads
and predicts the same); `disable=True` puts back the very objects it replaced. (`train` against
MLflow's own records: test_mlflow_parity.py.)"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lightgbm as lgb
import shipyard
import xgboost as xgb
from shipyard.autologging import INTEGRATIONS, REGISTRY
from shipyard.entities import Run
from shipyard.exceptions import InvalidInput


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.normal(size=(160, 3)), columns=["a", "b", "c"])
    return X, (X["a"] - X["b"] > 0).astype(int).to_numpy()


def steps(client: shipyard.Client, run: Run, key: str) -> list[int]:
    return [m.step for m in client.get_metric_history(run.info.run_id, key)]


def artifact_json(client: shipyard.Client, run: Run, name: str, tmp_path: Path) -> dict[str, float]:
    local = client.download_artifacts(run.info.run_id, name, str(tmp_path))
    loaded = json.loads(Path(local).read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_xgb_classifier_fit_logs_params_iterations_and_the_estimator(
    data: tuple[pd.DataFrame, np.ndarray],
    tracking: shipyard.Client,
    last_run: Callable[[], Run],
    tmp_path: Path,
) -> None:
    X, y = data
    shipyard.xgboost.autolog(importance_types=["weight", "gain"], log_input_examples=True)
    model = xgb.XGBClassifier(n_estimators=6, max_depth=2).fit(X, y, eval_set=[(X, y)], verbose=False)
    run = last_run()
    assert run.info.status == "FINISHED" and run.data.tags["mlflow.autologging"] == "xgboost"
    assert run.data.params["n_estimators"] == "6" and run.data.params["max_depth"] == "2"
    assert steps(tracking, run, "validation_0-logloss") == list(range(6))
    final = model.evals_result()["validation_0"]["logloss"][-1]
    assert run.data.metrics["validation_0-logloss"] == pytest.approx(final)
    weight = artifact_json(tracking, run, "feature_importance_weight.json", tmp_path)
    assert weight == pytest.approx(model.get_booster().get_score(importance_type="weight"))
    assert artifact_json(tracking, run, "feature_importance_gain.json", tmp_path)
    assert len(run.inputs.dataset_inputs) == 1
    loaded = shipyard.xgboost.load_model(f"runs:/{run.info.run_id}/model")
    assert type(loaded) is xgb.XGBClassifier
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    pyfunc = shipyard.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    assert pyfunc.signature is not None and pyfunc.signature.inputs.input_names() == ["a", "b", "c"]
    assert pyfunc.metadata.saved_input_example_info is not None
    np.testing.assert_array_equal(pyfunc.predict(X), model.predict(X))


def test_lgbm_regressor_fit_with_early_stopping(
    data: tuple[pd.DataFrame, np.ndarray], tracking: shipyard.Client, last_run: Callable[[], Run]
) -> None:
    X, _ = data
    target = X["a"] * 2 + X["c"]
    shipyard.lightgbm.autolog(log_datasets=False)
    model = lgb.LGBMRegressor(n_estimators=200, learning_rate=0.3, verbose=-1).fit(
        X[:120],
        target[:120],
        eval_X=(X[120:],),
        eval_y=(target[120:],),
        callbacks=[lgb.early_stopping(2, verbose=False)],
    )
    run = last_run()
    assert run.data.tags["mlflow.autologging"] == "lightgbm" and not run.inputs.dataset_inputs
    assert run.data.params["learning_rate"] == "0.3"
    ran = len(model.evals_result_["valid_0"]["l2"])
    assert ran < 200 and model.best_iteration_ > 0
    assert steps(tracking, run, "valid_0-l2") == [*range(ran), ran]  # the best iteration's, one step on
    assert run.data.metrics["best_iteration"] == model.best_iteration_
    assert run.data.metrics["stopped_iteration"] == ran
    assert run.data.metrics["valid_0-l2"] == pytest.approx(
        model.evals_result_["valid_0"]["l2"][model.best_iteration_ - 1]
    )
    loaded = shipyard.lightgbm.load_model(f"runs:/{run.info.run_id}/model", allow_pickle=False)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_log_models_false_and_an_active_run(
    data: tuple[pd.DataFrame, np.ndarray], tracking: shipyard.Client, last_run: Callable[[], Run]
) -> None:
    X, y = data
    shipyard.lightgbm.autolog(log_models=False, log_datasets=False)
    with shipyard.start_run() as mine:
        lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(X, label=y), 3)
    run = last_run()
    assert run.info.run_id == mine.info.run_id and run.data.params["objective"] == "binary"
    paths = [a.path for a in tracking.list_artifacts(run.info.run_id)]
    assert "model" not in paths and "feature_importance_split.json" in paths


def test_disable_puts_back_the_originals(tracking: shipyard.Client) -> None:
    originals = (xgb.train, xgb.sklearn.train, xgb.XGBClassifier.fit, lgb.train, lgb.LGBMClassifier.fit)
    shipyard.xgboost.autolog()
    shipyard.lightgbm.autolog()
    assert xgb.train is not originals[0] and lgb.LGBMClassifier.fit is not originals[4]
    assert REGISTRY.patches("xgboost") and REGISTRY.patches("lightgbm")
    shipyard.xgboost.autolog(disable=True)
    shipyard.lightgbm.autolog(disable=True)
    assert (xgb.train, xgb.sklearn.train, xgb.XGBClassifier.fit, lgb.train, lgb.LGBMClassifier.fit) == originals


def test_universal_autolog_covers_both(tracking: shipyard.Client) -> None:
    assert {"xgboost", "lightgbm"} <= set(INTEGRATIONS)
    shipyard.autolog(exclude_flavors=["lightgbm"])
    assert REGISTRY.patches("xgboost") and not REGISTRY.patches("lightgbm")


@pytest.mark.parametrize(
    ("call", "mentions"),
    [
        (lambda: shipyard.xgboost.autolog(importance_types=["splits"]), "importance_types ['splits']"),
        (lambda: shipyard.xgboost.autolog(model_format="xgb"), "model_format 'xgb'"),
        (lambda: shipyard.lightgbm.autolog(log_models="yes"), "log_models must be True or False"),
        (lambda: shipyard.lightgbm.autolog(disable_for_unsupported_versions=True), "disable_for_unsupported_versions"),
    ],
    ids=["importance", "format", "flag", "versions"],
)
def test_bad_options_are_refused_up_front(call: Callable[[], None], mentions: str, tracking: shipyard.Client) -> None:
    with pytest.raises(InvalidInput, match=mentions.replace("[", r"\[").replace("]", r"\]")):
        call()
    assert not REGISTRY.patches("xgboost") and not REGISTRY.patches("lightgbm")
