"""scikit-learn autolog on real estimators and a real sqlite store: what one fit records."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import scipy.sparse
import sklearn.metrics
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import shipyard
import shipyard.sklearn
from shipyard.autologging import AutologWarning
from shipyard.autologging.runs import TRUNCATED_PARAMS_TAG
from shipyard.entities import Run
from shipyard.tracking import validation


@pytest.fixture()
def iris() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_iris(return_X_y=True)
    return X, y


def _runs(client: shipyard.Client) -> list[shipyard.entities.Run]:
    shipyard.flush_async_logging()
    return list(client.search_runs(["0"]))


def test_a_fit_logs_params_metrics_tags_and_a_model_that_predicts(
    tracking: shipyard.Client, last_run: Callable[[], Run], iris: tuple[np.ndarray, np.ndarray]
) -> None:
    X, y = iris
    shipyard.sklearn.autolog()
    model = LogisticRegression(max_iter=300, C=0.5)
    assert model.fit(X, y) is model
    run = last_run()
    assert run.info.status == "FINISHED"
    assert run.data.params["C"] == "0.5"
    assert run.data.params["max_iter"] == "300"
    assert run.data.tags["estimator_name"] == "LogisticRegression"
    assert run.data.tags["estimator_class"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert run.data.tags["mlflow.autologging"] == "sklearn"
    metrics = run.data.metrics
    assert metrics["training_accuracy_score"] == pytest.approx(sklearn.metrics.accuracy_score(y, model.predict(X)))
    assert metrics["training_log_loss"] == pytest.approx(sklearn.metrics.log_loss(y, model.predict_proba(X)))
    assert metrics["training_score"] == pytest.approx(model.score(X, y))
    assert {"training_precision_score", "training_recall_score", "training_f1_score", "training_roc_auc"} <= set(
        metrics
    )
    loaded = shipyard.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_array_equal(loaded.predict(X[:10]), model.predict(X[:10]))
    assert loaded.metadata.signature is not None


def test_regressors_log_mlflows_regression_metrics(tracking: shipyard.Client, last_run: Callable[[], Run]) -> None:
    X, y = load_diabetes(return_X_y=True)
    shipyard.autolog()
    model = LinearRegression().fit(X, y)
    metrics = last_run().data.metrics
    mse = sklearn.metrics.mean_squared_error(y, model.predict(X))
    assert metrics["training_mean_squared_error"] == pytest.approx(mse)
    assert metrics["training_root_mean_squared_error"] == pytest.approx(np.sqrt(mse))
    assert metrics["training_mean_absolute_error"] == pytest.approx(
        sklearn.metrics.mean_absolute_error(y, model.predict(X))
    )
    assert metrics["training_r2_score"] == pytest.approx(model.score(X, y))


def test_a_pipeline_logs_once_with_its_steps_params(
    tracking: shipyard.Client, iris: tuple[np.ndarray, np.ndarray]
) -> None:
    X, y = iris
    shipyard.autolog()
    Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())]).fit(X, y)
    runs = _runs(tracking)
    assert len(runs) == 1
    assert runs[0].data.tags["estimator_name"] == "Pipeline"
    assert runs[0].data.params["clf__C"] == "1.0"
    assert "scale__with_mean" in runs[0].data.params


def test_a_fit_inside_the_users_run_logs_there_and_leaves_it_open(
    tracking: shipyard.Client, iris: tuple[np.ndarray, np.ndarray]
) -> None:
    X, y = iris
    shipyard.autolog()
    with shipyard.start_run() as run:
        LogisticRegression(max_iter=300).fit(X, y)
        assert shipyard.active_run() is run
    runs = _runs(tracking)
    assert [r.info.run_id for r in runs] == [run.info.run_id]
    assert "training_score" in runs[0].data.metrics
    assert "mlflow.autologging" not in runs[0].data.tags


def test_exclusive_leaves_the_users_run_alone(tracking: shipyard.Client, iris: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = iris
    shipyard.autolog(exclusive=True)
    with shipyard.start_run() as run:
        LogisticRegression(max_iter=300).fit(X, y)
    shipyard.flush_async_logging()
    assert tracking.get_run(run.info.run_id).data.params == {}


def test_a_grid_search_has_a_parent_and_max_tuning_runs_children(
    tracking: shipyard.Client, iris: tuple[np.ndarray, np.ndarray]
) -> None:
    X, y = iris
    shipyard.sklearn.autolog(max_tuning_runs=3)
    search = GridSearchCV(LogisticRegression(max_iter=300), {"C": [0.01, 0.1, 1.0, 10.0]}, cv=3).fit(X, y)
    runs = _runs(tracking)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and len(children) == 3
    parent = parents[0]
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parent.info.run_id}
    assert parent.data.params["best_C"] == str(search.best_params_["C"])
    assert parent.data.metrics["best_cv_score"] == pytest.approx(search.best_score_)
    ranks = sorted(c.data.metrics["rank_test_score"] for c in children)
    assert ranks == sorted(search.cv_results_["rank_test_score"])[:3]
    results = search.cv_results_
    best = {str(p["C"]) for p, rank in zip(results["params"], results["rank_test_score"], strict=True) if rank == 1}
    assert {c.data.params["C"] for c in children if c.data.metrics["rank_test_score"] == 1} == best
    artifacts = {a.path for a in tracking.list_artifacts(parent.info.run_id)}
    assert {"cv_results.csv", "model", "best_estimator"} <= artifacts
    csv = tracking.download_artifacts(parent.info.run_id, "cv_results.csv")
    assert len(pd.read_csv(csv)) == 4


def test_a_randomized_search_with_no_tuning_runs_logs_only_the_parent(
    tracking: shipyard.Client, iris: tuple[np.ndarray, np.ndarray]
) -> None:
    X, y = iris
    shipyard.sklearn.autolog(max_tuning_runs=0, log_models=False)
    RandomizedSearchCV(LogisticRegression(max_iter=300), {"C": [0.1, 1.0, 10.0]}, n_iter=2, cv=3, random_state=0).fit(
        X, y
    )
    runs = _runs(tracking)
    assert len(runs) == 1
    assert "best_C" in runs[0].data.params


def test_post_training_metrics_are_logged_under_the_datasets_name(
    tracking: shipyard.Client, last_run: Callable[[], Run], iris: tuple[np.ndarray, np.ndarray]
) -> None:
    X, y = iris
    X_test, y_test = X[::3], y[::3]
    shipyard.autolog()
    model = LogisticRegression(max_iter=300).fit(X, y)
    predictions = model.predict(X_test)
    first = sklearn.metrics.accuracy_score(y_test, predictions)
    again = sklearn.metrics.accuracy_score(y_test, predictions)
    proba = model.predict_proba(X_test)
    loss = sklearn.metrics.log_loss(y_test, proba)
    metrics = last_run().data.metrics
    assert metrics["accuracy_score_X_test"] == pytest.approx(first)
    assert metrics["accuracy_score-2_X_test"] == pytest.approx(again)
    assert metrics["log_loss_X_test"] == pytest.approx(loss)
    assert len(_runs(tracking)) == 1  # log_loss fits a LabelBinarizer inside: not a run of its own


def test_a_metric_on_other_predictions_logs_nothing(
    tracking: shipyard.Client, last_run: Callable[[], Run], iris: tuple[np.ndarray, np.ndarray]
) -> None:
    X, y = iris
    shipyard.autolog()
    LogisticRegression(max_iter=300).fit(X, y)
    sklearn.metrics.accuracy_score(y, np.zeros_like(y))
    assert not any(key.startswith("accuracy_score") for key in last_run().data.metrics)


def test_long_param_values_are_truncated_with_a_note(
    tracking: shipyard.Client, last_run: Callable[[], Run], iris: tuple[np.ndarray, np.ndarray]
) -> None:
    X, y = iris
    shipyard.autolog(log_models=False)
    weights = {label: 1.0 + i / 1e6 for i, label in enumerate(range(3))} | {f"unused{i}": 1.0 for i in range(400)}
    LogisticRegression(max_iter=300, class_weight=weights).fit(X, y)
    run = last_run()
    assert len(run.data.params["class_weight"]) == validation.MAX_PARAM_VALUE_LENGTH
    assert run.data.tags[TRUNCATED_PARAMS_TAG] == "class_weight"


def test_a_failing_fit_raises_the_users_error_and_the_run_ends_failed(
    tracking: shipyard.Client, last_run: Callable[[], Run]
) -> None:
    shipyard.autolog()
    with pytest.raises(ValueError, match="could not convert string to float"):
        LogisticRegression().fit([["a"], ["b"]], [0, 1])
    run = last_run()
    assert run.info.status == "FAILED"
    assert shipyard.active_run() is None


def test_extra_tags_and_registered_model_name(
    tracking: shipyard.Client, last_run: Callable[[], Run], iris: tuple[np.ndarray, np.ndarray]
) -> None:
    X, y = iris
    shipyard.autolog(extra_tags={"team": "ml"}, registered_model_name="iris-autolog")
    LogisticRegression(max_iter=300).fit(X, y)
    run = last_run()
    assert run.data.tags["team"] == "ml"
    versions = tracking.search_model_versions("name='iris-autolog'")
    assert [v.run_id for v in versions] == [run.info.run_id]


def test_sparse_training_data_logs_the_model_without_a_signature_and_one_warning(
    tracking: shipyard.Client, last_run: Callable[[], Run], iris: tuple[np.ndarray, np.ndarray]
) -> None:
    X, y = iris
    shipyard.autolog()
    with pytest.warns(AutologWarning, match="the signature of model"):
        model = LogisticRegression(max_iter=300).fit(scipy.sparse.csr_matrix(X), y)
    run = last_run()
    assert "training_accuracy_score" in run.data.metrics
    loaded = shipyard.sklearn.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_array_equal(loaded.predict(X[:5]), model.predict(X[:5]))


def _inputs(run: Run) -> list[tuple[str, str, str, dict[str, str]]]:
    return [
        (e.dataset.name, e.dataset.digest, e.dataset.source_type, {t.key: t.value for t in e.tags})
        for e in run.inputs.dataset_inputs
    ]


def test_log_datasets_records_the_training_data(
    tracking: shipyard.Client, last_run: Callable[[], Run], iris: tuple[np.ndarray, np.ndarray]
) -> None:
    X, y = iris
    shipyard.sklearn.autolog(log_datasets=True, log_models=False)
    LogisticRegression(max_iter=300).fit(X, y)
    digest = shipyard.data.from_numpy(X, targets=y).digest
    assert _inputs(last_run()) == [("dataset", digest, "code", {"mlflow.data.context": "train"})]
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    LinearRegression().fit(frame, y)
    assert _inputs(last_run())[0][1] == shipyard.data.from_pandas(frame).digest


def test_log_datasets_is_off_by_default(
    tracking: shipyard.Client, last_run: Callable[[], Run], iris: tuple[np.ndarray, np.ndarray]
) -> None:
    shipyard.autolog(log_models=False)
    LogisticRegression(max_iter=300).fit(*iris)
    assert last_run().inputs.dataset_inputs == []


def test_an_unrecognised_training_type_is_skipped_with_one_warning(
    tracking: shipyard.Client, last_run: Callable[[], Run]
) -> None:
    shipyard.autolog(log_datasets=True, log_models=False)
    with pytest.warns(AutologWarning, match="the training dataset: .*unrecognised dataset type list") as caught:
        model = LinearRegression().fit([[0.0], [1.0], [2.0]], [0.0, 1.0, 2.0])
    assert len(caught) == 1
    assert model.coef_[0] == pytest.approx(1.0)
    run = last_run()
    assert run.inputs.dataset_inputs == []
    assert "training_score" in run.data.metrics
