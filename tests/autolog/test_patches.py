"""The patch registry: `disable=True` leaves every patched attribute identical to the original
(`is`), classes created later are patched too, and concurrent fits each log their own run."""

from __future__ import annotations

import inspect
import threading

import numpy as np
import pytest
import sklearn.base
import sklearn.metrics
from sklearn.base import TransformerMixin
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import shipyard
from shipyard.autologging import REGISTRY
from shipyard.autologging.patches import PatchRegistry
from shipyard.autologging.sklearn import INTEGRATION


def _snapshot(owners: list[object], names: tuple[str, ...]) -> dict[tuple[int, str], object]:
    return {(id(o), n): vars(o)[n] for o in owners for n in names if n in vars(o)}


def test_disable_restores_every_patched_attribute_by_identity(tracking: shipyard.Client) -> None:
    owners: list[object] = [LogisticRegression, Ridge, StandardScaler, TransformerMixin, Pipeline, GridSearchCV]
    owners += [c for c in LogisticRegression.__mro__ if c is not object]
    methods = ("fit", "fit_transform", "fit_predict", "partial_fit", "predict", "predict_proba")
    before = _snapshot(owners, methods)
    metric_before = {name: getattr(sklearn.metrics, name) for name in sklearn.metrics.__all__}
    had_hook = "__init_subclass__" in vars(sklearn.base.BaseEstimator)

    shipyard.autolog()
    patched = REGISTRY.patches(INTEGRATION)
    assert any(p.owner is LogisticRegression and p.name == "fit" for p in patched)
    assert any(p.owner is sklearn.metrics and p.name == "accuracy_score" for p in patched)
    assert LogisticRegression.fit is not before[(id(LogisticRegression), "fit")]

    shipyard.autolog(disable=True)
    assert REGISTRY.patches(INTEGRATION) == []
    for patch in patched:  # every single one, not a sample
        if patch.name == "__init_subclass__" and not had_hook:
            assert "__init_subclass__" not in vars(patch.owner)
        else:
            assert vars(patch.owner)[patch.name] is patch.original, f"{patch.owner}.{patch.name}"
    assert _snapshot(owners, methods) == before
    assert {name: getattr(sklearn.metrics, name) for name in sklearn.metrics.__all__} == metric_before
    assert all(getattr(sklearn.metrics, n) is f for n, f in metric_before.items())


def test_the_registry_restores_an_inherited_attribute_by_deleting_its_own() -> None:
    class Base:
        def fit(self) -> str:
            return "base"

    class Child(Base):
        pass

    registry = PatchRegistry()
    registry.patch("x", Child, "fit", lambda original: lambda self: "patched " + original(self))
    registry.patch("x", Child, "fit", lambda original: lambda self: "twice")  # a second patch is a no-op
    assert Child().fit() == "patched base"
    registry.unpatch("x")
    assert "fit" not in vars(Child)
    assert Child.fit is Base.fit


def test_an_estimator_class_created_after_autolog_is_patched(tracking: shipyard.Client) -> None:
    shipyard.autolog(log_models=False)

    class Shrunk(Ridge):
        def fit(self, X: np.ndarray, y: np.ndarray) -> Shrunk:
            return super().fit(X, y)

    X, y = load_iris(return_X_y=True)
    Shrunk(alpha=2.0).fit(X, y)  # the subclass's own fit is not sklearn's, but Ridge.fit inside is
    shipyard.flush_async_logging()
    runs = tracking.search_runs(["0"])
    assert len(runs) == 1 and runs[0].data.params["alpha"] == "2.0"
    assert inspect.isfunction(vars(Ridge)["fit"])


def test_fits_in_threads_each_log_their_own_run(tracking: shipyard.Client) -> None:
    shipyard.autolog(log_models=False)
    X, y = load_iris(return_X_y=True)
    errors: list[BaseException] = []

    def train(c: float) -> None:
        try:
            LogisticRegression(C=c, max_iter=300).fit(X, y)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=train, args=(c,)) for c in (0.1, 0.2, 0.3, 0.4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    shipyard.flush_async_logging()
    runs = tracking.search_runs(["0"])
    assert sorted(r.data.params["C"] for r in runs) == ["0.1", "0.2", "0.3", "0.4"]
    assert all(r.info.status == "FINISHED" and "training_score" in r.data.metrics for r in runs)


@pytest.mark.parametrize("option", ["disable", "silent"])
def test_turning_on_twice_keeps_one_patch(tracking: shipyard.Client, option: str) -> None:
    shipyard.autolog()
    first = LogisticRegression.fit
    shipyard.autolog(**{option: False})
    assert LogisticRegression.fit is first
