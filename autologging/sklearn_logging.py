"""What one autologged scikit-learn fit records: params, tags, training metrics (MLflow's names,
`training_` prefix) and the fitted model."""

from __future__ import annotations

import math
from typing import Any

from shipyard.autologging import sklearn_datasets, sklearn_search
from shipyard.autologging.options import SklearnOptions
from shipyard.autologging.runs import AutologRun
from shipyard.autologging.safety import Failures
from shipyard.flavors.inference import infer_signature
from shipyard.flavors.sklearn import PREDICT_FNS, save_model
from shipyard.model_logging import log_model_dir

PREFIX = "training_"
INPUT_EXAMPLE_ROWS = 5


def log_fit(
    run: AutologRun,
    estimator: Any,
    X: Any,
    y: Any,
    sample_weight: Any,
    options: SklearnOptions,
    failures: Failures,
) -> None:
    """Record the fitted `estimator` into `run`; each part that fails is noted in `failures`."""
    search = sklearn_search.is_search(estimator)
    with failures.guard("params"):
        run.log_params(estimator.get_params(deep=not search))
    with failures.guard("tags"):
        run.set_tags(estimator_tags(estimator))
    if options.log_datasets:
        with failures.guard("the training dataset"):
            sklearn_datasets.log_training_dataset(run, X, y)
    with failures.guard("training metrics"):
        run.log_metrics(training_metrics(estimator, X, y, sample_weight, options.pos_label, failures))
    if search:
        sklearn_search.log_search(run, estimator, options, failures, estimator_tags(estimator.estimator))
    if options.common.log_models:
        with failures.guard("the model"):
            log_estimator(run, estimator, X, options, "model", failures)
        if search and hasattr(estimator, "best_estimator_"):
            with failures.guard("the best estimator"):
                log_estimator(run, estimator.best_estimator_, X, options, "best_estimator", failures)
    if options.log_post_training_metrics and options.tracker is not None:
        options.tracker.track_model(estimator, run.run_id)


def estimator_tags(estimator: Any) -> dict[str, str]:
    cls = type(estimator)
    return {"estimator_name": cls.__name__, "estimator_class": f"{cls.__module__}.{cls.__qualname__}"}


def training_metrics(
    estimator: Any, X: Any, y: Any, sample_weight: Any, pos_label: Any, failures: Failures
) -> dict[str, float]:
    """MLflow's training metrics: a classifier's accuracy, weighted (or `pos_label`'s) precision,
    recall and F1, log loss and ROC AUC when it has `predict_proba`; a regressor's MSE, RMSE, MAE,
    R²; and `score` for both. Nothing without `y`."""
    from sklearn import base, metrics

    if y is None:
        return {}
    values: dict[str, float] = {}

    def add(name: str, compute: Any) -> None:
        with failures.guard(f"metric {PREFIX}{name}"):
            values[PREFIX + name] = float(compute())

    weight = {"sample_weight": sample_weight}
    if base.is_classifier(estimator):
        predicted = estimator.predict(X)
        average = "weighted" if pos_label is None else "binary"
        label = {"pos_label": pos_label} if pos_label is not None else {}
        prf = {"average": average, "zero_division": 0, **label, **weight}
        add("precision_score", lambda: metrics.precision_score(y, predicted, **prf))
        add("recall_score", lambda: metrics.recall_score(y, predicted, **prf))
        add("f1_score", lambda: metrics.f1_score(y, predicted, **prf))
        add("accuracy_score", lambda: metrics.accuracy_score(y, predicted, **weight))
        if hasattr(estimator, "predict_proba"):
            proba = estimator.predict_proba(X)
            add("log_loss", lambda: metrics.log_loss(y, proba, labels=estimator.classes_, **weight))
            scores = proba[:, 1] if proba.shape[1] == 2 else proba
            add(
                "roc_auc",
                lambda: metrics.roc_auc_score(y, scores, average="weighted", multi_class="ovo", **weight),
            )
    elif base.is_regressor(estimator):
        predicted = estimator.predict(X)
        add("mean_squared_error", lambda: metrics.mean_squared_error(y, predicted, **weight))
        add("root_mean_squared_error", lambda: math.sqrt(values[PREFIX + "mean_squared_error"]))
        add("mean_absolute_error", lambda: metrics.mean_absolute_error(y, predicted, **weight))
        add("r2_score", lambda: metrics.r2_score(y, predicted, **weight))
    if hasattr(estimator, "score") and (base.is_classifier(estimator) or base.is_regressor(estimator)):
        add(
            "score",
            lambda: estimator.score(X, y, **({"sample_weight": sample_weight} if sample_weight is not None else {})),
        )
    return values


def _head(X: Any) -> Any:
    """The first rows of the training data, for the signature and the input example."""
    iloc = getattr(X, "iloc", None)
    return iloc[:INPUT_EXAMPLE_ROWS] if iloc is not None else X[:INPUT_EXAMPLE_ROWS]


def log_estimator(
    run: AutologRun, estimator: Any, X: Any, options: SklearnOptions, name: str, failures: Failures
) -> None:
    """Log the fitted estimator with `log_model`'s one body, a signature inferred from the first
    training rows; estimators with none of pyfunc's predict methods are not logged."""
    predict_fn = next((fn for fn in PREDICT_FNS if hasattr(estimator, fn)), None)
    if predict_fn is None:
        return
    sample = _head(X) if X is not None else None
    signature: Any = False
    if options.common.log_model_signatures and sample is not None:
        with failures.guard(f"the signature of {name} (logged without one)"):  # e.g. sparse input
            signature = infer_signature(sample, getattr(estimator, predict_fn)(sample))
    example = sample if options.common.log_input_examples else None
    log_model_dir(
        lambda path: save_model(
            estimator,
            path,
            serialization_format=options.serialization_format,
            signature=signature,
            input_example=example,
            pyfunc_predict_fn=predict_fn,
        ),
        name,
        registered_model_name=options.common.registered_model_name if name == "model" else None,
        run_id=run.run_id,
    )


__all__ = ["estimator_tags", "log_estimator", "log_fit", "training_metrics"]
