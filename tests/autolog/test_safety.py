"""Never in the way: autolog's own failures are one warning and `fit` returns its normal result;
the user's exceptions propagate unchanged; `silent=True` is silent."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import shipyard
from shipyard.autologging import AutologWarning
from shipyard.tracking import fluent


@pytest.fixture()
def unwritable_store(tracking: shipyard.Client, tmp_path: Path) -> str:
    """A tracking URI whose sqlite file cannot be created: its folder is a regular file."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    uri = f"sqlite:///{blocker / 'shipyard.db'}"
    fluent.set_tracking_uri(uri)
    return uri


def test_an_unwritable_store_is_one_warning_and_fit_returns_the_estimator(unwritable_store: str) -> None:
    X, y = load_iris(return_X_y=True)
    shipyard.autolog()
    model = LogisticRegression(max_iter=300)
    with pytest.warns(AutologWarning, match="could not record: starting a run") as caught:
        returned = model.fit(X, y)
    assert returned is model
    assert len([w for w in caught if issubclass(w.category, AutologWarning)]) == 1
    shipyard.autolog(disable=True)
    np.testing.assert_array_equal(model.predict(X[:5]), LogisticRegression(max_iter=300).fit(X, y).predict(X[:5]))


def test_silent_says_nothing(unwritable_store: str) -> None:
    X, y = load_iris(return_X_y=True)
    shipyard.autolog(silent=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert LogisticRegression(max_iter=300).fit(X, y).coef_.shape == (3, 4)


def test_the_users_exception_is_not_replaced_by_autologs_problems(unwritable_store: str) -> None:
    shipyard.autolog()
    with pytest.raises(ValueError, match="could not convert string to float"):
        LogisticRegression().fit([["a"], ["b"]], [0, 1])


def test_a_failure_after_the_run_started_still_ends_the_run(tracking: shipyard.Client) -> None:
    """An estimator whose params cannot be logged: the warning names the part, the rest is logged."""
    X, y = load_iris(return_X_y=True)
    shipyard.autolog(log_models=False)
    with shipyard.start_run() as run:
        shipyard.log_param("C", "already set")
        with pytest.warns(AutologWarning, match="params: InvalidInput"):
            LogisticRegression(max_iter=300).fit(X, y)
    shipyard.flush_async_logging()
    logged = tracking.get_run(run.info.run_id)
    assert logged.data.params["C"] == "already set"
    assert "training_score" in logged.data.metrics
