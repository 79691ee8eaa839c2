"""Autolog for gradient-boosted trees (XGBoost, LightGBM): the framework's `train` and its
sklearn-API `fit`s, with what `mlflow.xgboost.autolog` / `mlflow.lightgbm.autolog` record.

`train(...)` logs its params (the params dict and the other arguments), one metric per eval set
and metric per iteration (`<data>-<metric>`, step = iteration), early stopping
(`stopped_iteration`, `best_iteration`, the best iteration's metrics one step after the last),
feature importance as JSON artifacts, and the Booster. A sklearn-API `fit` logs the estimator's
params, the iterations of the `train` it calls, and the fitted estimator instead of its Booster.
Each framework module gives a `TreeFramework` saying how its calls look.
"""

from __future__ import annotations

import contextvars
import functools
import importlib
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from shipyard.autologging.options import CommonOptions
from shipyard.autologging.patches import REGISTRY
from shipyard.autologging.runs import AutologRun
from shipyard.autologging.safety import Failures
from shipyard.autologging.sklearn_datasets import log_training_dataset
from shipyard.flavors.inference import infer_signature
from shipyard.model_logging import log_model_dir
from shipyard.tracking import fluent

EXAMPLE_ROWS = 5


@dataclass(frozen=True)
class TreeOptions:
    common: CommonOptions
    log_datasets: bool = True
    importance_types: tuple[str, ...] = ()
    save_kwargs: dict[str, Any] = field(default_factory=dict)
    """Extra save_model arguments (xgboost: model_format)."""


@dataclass(frozen=True)
class TreeFramework:
    """How one framework's training looks to autolog."""

    integration: str
    unlogged: tuple[str, ...]
    """`train` arguments not logged as params (data, callables, the params dict itself)."""
    add_recorder: Callable[[tuple[Any, ...], dict[str, Any], Callable[[int, dict[str, float]], None]], dict[str, Any]]
    """(args, kwargs, record(iteration, metrics)) -> kwargs with a callback that calls record."""
    early_stop: Callable[[Any, tuple[Any, ...], dict[str, Any], int], tuple[dict[str, float], int] | None]
    """(booster, args, kwargs, iterations run) -> when early stopping was asked for, MLflow's
    `stopped_iteration`/`best_iteration` metrics and the index of the best iteration's results."""
    importances: Callable[[Any, tuple[str, ...]], dict[str, dict[str, float]]]
    """(booster, importance types asked for) -> {importance type: {feature: value}}."""
    train_data: Callable[[tuple[Any, ...], dict[str, Any]], tuple[Any, Any] | None]
    """`train`'s (args, kwargs) -> the training data's raw (X, y), for the run's dataset input."""
    booster_of: Callable[[Any], Any]
    """A fitted sklearn-API estimator -> its Booster."""
    save_model: Callable[..., Any]


class _FitSession:
    """A sklearn-API `fit` in progress: the run its inner `train` records iterations into."""

    def __init__(self, run: AutologRun, failures: Failures) -> None:
        self.run = run
        self.failures = failures
        self.results: list[dict[str, float]] = []


_FIT: contextvars.ContextVar[_FitSession | None] = contextvars.ContextVar("shipyard_tree_fit", default=None)
"""NOTE: a ContextVar (per thread and task), not a global: which `fit` the inner `train` belongs to."""


def enable(fw: TreeFramework, options: TreeOptions, package: str, estimators: tuple[str, ...]) -> None:
    """Record `options` and patch `<package>.train`, `<package>.sklearn.train` and the `fit` of
    each estimator class that defines its own.

    NOTE: the sklearn API calls the `train` it imported into `<package>.sklearn`, so both names
    are patched."""
    REGISTRY.set_options(fw.integration, options)
    sklearn_api = importlib.import_module(f"{package}.sklearn")
    REGISTRY.patch(fw.integration, importlib.import_module(package), "train", train_wrapper(fw))
    REGISTRY.patch(fw.integration, sklearn_api, "train", train_wrapper(fw))
    for name in estimators:
        cls = getattr(sklearn_api, name, None)
        if cls is not None and "fit" in vars(cls):
            REGISTRY.patch(fw.integration, cls, "fit", fit_wrapper(fw))


def sanitize(metrics: dict[str, float]) -> dict[str, float]:
    """`ndcg@3` -> `ndcg_at_3`, as MLflow does (`@` is not allowed in a metric name)."""
    return {name.replace("@", "_at_"): float(value) for name, value in metrics.items()}


def train_wrapper(fw: TreeFramework) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The replacement of a framework's `train` function."""

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def patched(*args: Any, **kwargs: Any) -> Any:
            options: TreeOptions | None = REGISTRY.options(fw.integration)
            if options is None:
                return original(*args, **kwargs)
            session = _FIT.get()
            if session is not None:  # inside an autologged sklearn-API fit: iterations only
                return _train_recording(fw, original, args, kwargs, session.run, session.failures, session.results)
            if REGISTRY.inside():
                return original(*args, **kwargs)
            with REGISTRY.outermost():
                return _train_and_log(fw, original, args, kwargs, options)

        return patched

    return make


def fit_wrapper(fw: TreeFramework) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The replacement of a sklearn-API estimator class's `fit`."""

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def patched(estimator: Any, *args: Any, **kwargs: Any) -> Any:
            options: TreeOptions | None = REGISTRY.options(fw.integration)
            if options is None or REGISTRY.inside():
                return original(estimator, *args, **kwargs)
            with REGISTRY.outermost():
                return _fit_and_log(fw, original, estimator, args, kwargs, options)

        return patched

    return make


def _train_recording(
    fw: TreeFramework,
    original: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    run: AutologRun,
    failures: Failures,
    results: list[dict[str, float]],
) -> Any:
    def record(iteration: int, metrics: dict[str, float]) -> None:
        with failures.guard("iteration metrics"):
            clean = sanitize(metrics)
            results.append(clean)
            run.log_metrics(clean, step=iteration)

    kwargs = fw.add_recorder(args, kwargs, record)
    booster = original(*args, **kwargs)
    with failures.guard("early stopping"):
        _log_early_stopping(fw, run, booster, args, kwargs, results)
    return booster


@contextmanager
def _owned_run(fw: TreeFramework, options: TreeOptions) -> Iterator[tuple[AutologRun | None, Failures]]:
    failures = Failures(fw.integration)
    run: AutologRun | None = None
    with failures.guard("starting a run"):
        run = AutologRun.begin(fw.integration, options.common)
    try:
        yield run, failures
    except BaseException as error:
        if run is not None:
            with failures.guard("ending the run"):
                run.end(error)
        failures.report(options.common.silent, quietly=True)
        raise
    if run is not None:
        with failures.guard("ending the run"):
            run.end()
    failures.report(options.common.silent)


def _train_and_log(
    fw: TreeFramework, original: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], options: TreeOptions
) -> Any:
    with _owned_run(fw, options) as (run, failures):
        if run is None:
            return original(*args, **kwargs)
        with failures.guard("params"):
            run.log_params(_train_params(fw, original, args, kwargs))
        if options.log_datasets:
            with failures.guard("the training dataset"):
                data = fw.train_data(args, kwargs)
                if data is not None:
                    log_training_dataset(run, *data)
        booster = _train_recording(fw, original, args, kwargs, run, failures, [])
        _log_after(fw, run, booster, booster, None, options, failures)
        return booster


def _fit_and_log(
    fw: TreeFramework,
    original: Callable[..., Any],
    estimator: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    options: TreeOptions,
) -> Any:
    with _owned_run(fw, options) as (run, failures):
        if run is None:
            return original(estimator, *args, **kwargs)
        with failures.guard("params"):
            run.log_params(estimator.get_params(deep=False))
        example = None
        X, y = args[0] if args else kwargs.get("X"), args[1] if len(args) > 1 else kwargs.get("y")
        with failures.guard("the input example"):
            example = _head(X)
        if options.log_datasets:
            with failures.guard("the training dataset"):
                log_training_dataset(run, X, y)
        token = _FIT.set(_FitSession(run, failures))
        try:
            result = original(estimator, *args, **kwargs)
        finally:
            _FIT.reset(token)
        _log_after(fw, run, fw.booster_of(estimator), estimator, example, options, failures)
        return result


def _head(X: Any) -> Any:
    """The first rows of the training data (a DataFrame or an array), for the signature and example."""
    if X is None:
        return None
    return X.iloc[:EXAMPLE_ROWS] if hasattr(X, "iloc") else X[:EXAMPLE_ROWS]


def _train_params(
    fw: TreeFramework, original: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """The params dict's entries, then every other bound argument not in `fw.unlogged`."""
    bound = inspect.signature(original).bind_partial(*args, **kwargs)
    bound.apply_defaults()
    given = dict(bound.arguments)
    params = dict(given.get("params") or {})
    params.update({k: v for k, v in given.items() if k not in fw.unlogged and k != "params"})
    return params


def _log_early_stopping(
    fw: TreeFramework,
    run: AutologRun,
    booster: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    results: list[dict[str, float]],
) -> None:
    stopped = fw.early_stop(booster, args, kwargs, len(results)) if results else None
    if stopped is None:
        return
    metrics, best = stopped
    run.log_metrics(metrics)
    run.log_metrics(results[min(best, len(results) - 1)], step=len(results))


def _log_after(
    fw: TreeFramework,
    run: AutologRun,
    booster: Any,
    model: Any,
    example: Any,
    options: TreeOptions,
    failures: Failures,
) -> None:
    """Feature importance, then the model; a sklearn-API model's signature (and, when asked, its
    input example) comes from its first training rows."""
    with failures.guard("feature importance"):
        for kind, values in fw.importances(booster, options.importance_types).items():
            fluent.log_dict(values, f"feature_importance_{kind}.json", run_id=run.run_id)
    if not options.common.log_models:
        return
    signature: Any = None if options.common.log_model_signatures else False
    if example is not None and options.common.log_model_signatures:
        with failures.guard("the signature"):
            signature = infer_signature(example, model.predict(example))
    logged_example = example if options.common.log_input_examples else None
    with failures.guard("the model"):
        log_model_dir(
            lambda path: fw.save_model(
                model, path, signature=signature, input_example=logged_example, **options.save_kwargs
            ),
            "model",
            registered_model_name=options.common.registered_model_name,
            run_id=run.run_id,
        )


__all__ = ["TreeFramework", "TreeOptions", "enable", "fit_wrapper", "sanitize", "train_wrapper"]
