"""A LightGBM sklearn-API model without pickle: its booster's native text plus this JSON state.

The state is what `fit` sets beside the booster and `predict` reads: the constructor params, the
class labels of a classifier, the feature count, whether it was fitted with feature names and the
resolved objective.

NOTE: LightGBM has no public way to attach a booster to an unfitted estimator; `rebuild_estimator`
sets the private attributes `fit` sets (LightGBM 4.x). The round-trip tests compare predict and
predict_proba with the original model, so a LightGBM that renames them fails there, not silently.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from shipyard.exceptions import InvalidInput, ModelLoadError

STATE_FILE = "sklearn_state.json"
STATE_VERSION = 1


def _json_params(estimator: Any) -> dict[str, Any]:
    params = estimator.get_params(deep=False)
    bad = sorted(k for k, v in params.items() if callable(v))
    if bad:
        raise InvalidInput(
            f"lgb_model: params {bad} are Python callables, which LightGBM's text format cannot hold "
            "(Shipyard never pickles LightGBM models); save model.booster_ instead"
        )
    try:
        json.dumps(params)
    except TypeError as exc:
        raise InvalidInput(f"lgb_model: params cannot be written as JSON ({exc}); save model.booster_ instead") from exc
    return dict(params)


def write_state(estimator: Any, path: Path) -> None:
    """Write what `rebuild_estimator` needs besides the booster."""
    state: dict[str, Any] = {
        "version": STATE_VERSION,
        "params": _json_params(estimator),
        "n_features_in": int(estimator.n_features_in_),
        "fitted_with_feature_names": hasattr(estimator, "feature_names_in_"),
        "objective": estimator.objective_,
    }
    classes = getattr(estimator, "classes_", None)
    if classes is not None:
        classes = np.asarray(classes)
        if classes.dtype.kind not in "biuUO":
            raise InvalidInput(f"lgb_model: class labels of dtype {classes.dtype} cannot be written as JSON")
        state["classes"] = classes.tolist()
        state["classes_dtype"] = classes.dtype.str if classes.dtype.kind != "O" else "object"
    path.write_text(json.dumps(state, indent=1, sort_keys=True))


def rebuild_estimator(cls: type, booster: Any, state_path: Path) -> Any:
    """A fitted `cls` around `booster`, from the state `write_state` wrote."""
    try:
        state = json.loads(state_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{state_path}: unreadable LightGBM sklearn state: {exc}") from exc
    if state.get("version") != STATE_VERSION:
        raise ModelLoadError(f"{state_path}: sklearn state version {state.get('version')!r} is not {STATE_VERSION}")
    estimator = cls(**state["params"])
    estimator._Booster = booster
    estimator._n_features = booster.num_feature()
    estimator._n_features_in = state["n_features_in"]
    estimator._fitted_with_feature_names = state["fitted_with_feature_names"]
    estimator._objective = state["objective"]
    estimator._best_iteration = booster.best_iteration
    if "classes" in state:
        from sklearn.preprocessing import LabelEncoder

        classes = np.asarray(
            state["classes"], dtype=object if state["classes_dtype"] == "object" else state["classes_dtype"]
        )
        encoder = LabelEncoder().fit(classes)
        estimator._le = encoder
        estimator._classes = encoder.classes_
        estimator._n_classes = len(encoder.classes_)
        estimator._class_map = dict(zip(encoder.classes_, encoder.transform(encoder.classes_), strict=True))
    estimator.fitted_ = True
    return estimator


__all__ = ["STATE_FILE", "rebuild_estimator", "write_state"]
