"""scikit-learn autolog: every estimator's `fit` (and `fit_transform`, `fit_predict`,
`partial_fit`) records params, training metrics, tags and the model into a run.

Estimators are patched where they define those methods; classes sklearn defines after `autolog()`
(a module imported later) are patched as they are created, through a hook on `BaseEstimator`'s
`__init_subclass__`, so enabling autolog does not import all of scikit-learn (that costs seconds
and, through sklearn's array-API adapters, imports torch).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from shipyard.autologging import sklearn_logging, sklearn_post
from shipyard.autologging.options import (
    SklearnOptions,
    common_options,
    flag,
    positive_or_none,
    refuse_unsupported,
)
from shipyard.autologging.patches import REGISTRY
from shipyard.autologging.runs import AutologRun
from shipyard.autologging.safety import Failures
from shipyard.exceptions import InvalidInput
from shipyard.flavors.sklearn import SERIALIZATION_FORMATS

INTEGRATION = "sklearn"
FIT_METHODS = ("fit", "fit_transform", "fit_predict", "partial_fit")


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = False,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    max_tuning_runs: int | None = 5,
    log_post_training_metrics: bool = True,
    serialization_format: str = "cloudpickle",
    registered_model_name: str | None = None,
    pos_label: Any = None,
    extra_tags: dict[str, str] | None = None,
) -> None:
    """Turn scikit-learn autologging on (MLflow's `mlflow.sklearn.autolog` options), or off with
    `disable=True`, which puts every patched method back as it was."""
    if disable:
        REGISTRY.unpatch(INTEGRATION)
        return
    refuse_unsupported("sklearn.autolog", disable_for_unsupported_versions=disable_for_unsupported_versions)
    if serialization_format not in SERIALIZATION_FORMATS:
        raise InvalidInput(
            f"sklearn.autolog: serialization_format {serialization_format!r} is not supported; "
            f"allowed: {', '.join(SERIALIZATION_FORMATS)}"
        )
    if not isinstance(log_post_training_metrics, bool):
        raise InvalidInput(
            f"sklearn.autolog: log_post_training_metrics must be True or False, got {log_post_training_metrics!r}"
        )
    options = SklearnOptions(
        common=common_options(
            log_input_examples=log_input_examples,
            log_model_signatures=log_model_signatures,
            log_models=log_models,
            exclusive=exclusive,
            silent=silent,
            registered_model_name=registered_model_name,
            extra_tags=extra_tags,
        ),
        max_tuning_runs=positive_or_none("sklearn.autolog", "max_tuning_runs", max_tuning_runs, allow_zero=True),
        log_post_training_metrics=log_post_training_metrics,
        serialization_format=serialization_format,
        pos_label=pos_label,
        log_datasets=flag("sklearn.autolog", "log_datasets", log_datasets),
        tracker=sklearn_post.PostTraining(),
    )
    REGISTRY.set_options(INTEGRATION, options)
    _patch_library()


def _patch_library() -> None:
    # NOTE: scikit-learn is optional; it is imported only when its autolog is turned on.
    from sklearn.base import BaseEstimator

    REGISTRY.patch(INTEGRATION, BaseEstimator, "__init_subclass__", _subclass_hook)
    pending = list(BaseEstimator.__subclasses__())
    while pending:
        cls = pending.pop()
        patch_class(cls)
        pending.extend(cls.__subclasses__())
    sklearn_post.patch_metric_functions(INTEGRATION)


def _subclass_hook(_inherited: Any) -> Any:
    """`BaseEstimator.__init_subclass__` that also patches each new estimator class."""
    from sklearn.base import BaseEstimator

    own = vars(BaseEstimator).get("__init_subclass__")

    def __init_subclass__(cls: type, /, **kwargs: Any) -> None:
        if own is not None:
            own.__get__(None, cls)(**kwargs)
        else:
            super(BaseEstimator, cls).__init_subclass__(**kwargs)
        if REGISTRY.options(INTEGRATION) is not None:
            failures = Failures(INTEGRATION)
            with failures.guard(f"patching {cls.__qualname__}"):
                patch_class(cls)
            failures.report(silent=REGISTRY.options(INTEGRATION).common.silent)

    return classmethod(__init_subclass__)


def patch_class(cls: type) -> None:
    """Patch the fit and predict methods scikit-learn's classes in `cls`'s MRO define."""
    for owner in cls.__mro__:
        module = getattr(owner, "__module__", "") or ""
        if module != "sklearn" and not module.startswith("sklearn."):
            continue
        for name in FIT_METHODS:
            if inspect.isfunction(vars(owner).get(name)):
                REGISTRY.patch(INTEGRATION, owner, name, _fit_wrapper)
        for name in sklearn_post.PREDICT_METHODS:
            if inspect.isfunction(vars(owner).get(name)):
                REGISTRY.patch(INTEGRATION, owner, name, sklearn_post.predict_wrapper(INTEGRATION))


def _fit_wrapper(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def patched(self: Any, *args: Any, **kwargs: Any) -> Any:
        options = REGISTRY.options(INTEGRATION)
        if options is None or REGISTRY.inside():
            return original(self, *args, **kwargs)
        with REGISTRY.outermost():
            return _fit_and_log(original, self, args, kwargs, options)

    return patched


def _fit_and_log(
    original: Callable[..., Any], estimator: Any, args: tuple[Any, ...], kwargs: dict[str, Any], options: SklearnOptions
) -> Any:
    """The user's fit, inside a run; the user's exception propagates unchanged (the run autolog
    started ends FAILED), autolog's own failures become one warning."""
    failures = Failures(INTEGRATION)
    run: AutologRun | None = None
    with failures.guard("starting a run"):
        run = AutologRun.begin(INTEGRATION, options.common)
    try:
        result = original(estimator, *args, **kwargs)
    except BaseException as error:
        if run is not None:
            with failures.guard("ending the run"):
                run.end(error)
        failures.report(options.common.silent, quietly=True)
        raise
    if run is not None:
        with failures.guard("reading the training data"):
            X, y, sample_weight = _fit_data(original, estimator, args, kwargs)
            sklearn_logging.log_fit(run, estimator, X, y, sample_weight, options, failures)
        with failures.guard("ending the run"):
            run.end()
    failures.report(options.common.silent)
    return result


def _fit_data(
    original: Callable[..., Any], estimator: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, Any, Any]:
    """X, y and sample_weight of a fit call, by the method's parameter names."""
    bound = inspect.signature(original).bind_partial(estimator, *args, **kwargs).arguments
    return bound.get("X"), bound.get("y"), bound.get("sample_weight")


__all__ = ["FIT_METHODS", "INTEGRATION", "autolog", "patch_class"]
