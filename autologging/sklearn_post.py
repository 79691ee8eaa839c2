"""Post-training metrics: a `sklearn.metrics` call on the predictions of an autologged model logs
`<metric>_<dataset name>` to that model's run, as MLflow's sklearn autolog does.

The dataset name is the variable name the caller passed to `predict` (as MLflow finds it), else
`unknown_dataset`; a second call of the same metric on the same dataset logs `<metric>-2_<dataset>`.
"""

from __future__ import annotations

import functools
import inspect
import numbers
import sys
import threading
import weakref
from collections.abc import Callable
from typing import Any

from shipyard.autologging.patches import REGISTRY
from shipyard.autologging.safety import Failures
from shipyard.tracking import fluent

PREDICT_METHODS = ("predict", "predict_proba", "predict_log_proba")
PREDICTION_ARGUMENTS = ("y_pred", "y_score", "y_proba", "y_prob", "probas_pred", "pred_decision")
"""The second parameter's name in the `sklearn.metrics` functions autolog watches."""
FALLBACK_DATASET_NAME = "unknown_dataset"


class PostTraining:
    """Models -> runs, predictions -> (run, dataset name), and the metric keys logged per run.

    NOTE: keyed by `id()`, with a `weakref.finalize` that drops each entry when its object dies,
    so a recycled id never points a new array at an old run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[int, str] = {}
        self._predictions: dict[int, tuple[str, str]] = {}
        self._datasets: dict[str, dict[str, list[int]]] = {}
        self._keys: dict[str, dict[str, int]] = {}

    def track_model(self, model: Any, run_id: str) -> None:
        key = id(model)
        with self._lock:
            self._models[key] = run_id
        weakref.finalize(model, self._models.pop, key, None)

    def record_prediction(self, model: Any, data: Any, result: Any, caller: Any) -> None:
        """Note that `result` is `model`'s prediction on `data` (named as in `caller`'s frame)."""
        run_id = self._models.get(id(model))
        if run_id is None:
            return
        try:
            weakref.finalize(result, self._predictions.pop, id(result), None)
        except TypeError:  # a list or another object without weak references: cannot be tracked
            return
        name = _variable_name(data, caller)
        with self._lock:
            seen = self._datasets.setdefault(run_id, {}).setdefault(name, [])
            if id(data) not in seen:
                seen.append(id(data))
            index = seen.index(id(data))
            self._predictions[id(result)] = (run_id, name if index == 0 else f"{name}-{index + 1}")

    def metric_key(self, metric: str, prediction: Any) -> tuple[str, str] | None:
        """(run id, metric key) for a metric computed on `prediction`, or None if it is not tracked."""
        found = self._predictions.get(id(prediction))
        if found is None:
            return None
        run_id, dataset = found
        with self._lock:
            counts = self._keys.setdefault(run_id, {})
            base = f"{metric}_{dataset}"
            counts[base] = counts.get(base, 0) + 1
            count = counts[base]
        return run_id, base if count == 1 else f"{metric}-{count}_{dataset}"


def _variable_name(value: Any, frame: Any) -> str:
    """The name `value` has among the caller's local variables (MLflow's rule), else a fallback."""
    if frame is not None:
        for name, candidate in frame.f_locals.items():
            if candidate is value and not name.startswith("_"):
                return str(name)
    return FALLBACK_DATASET_NAME


def predict_wrapper(integration: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def patched(self: Any, *args: Any, **kwargs: Any) -> Any:
            options = REGISTRY.options(integration)
            if options is None or options.tracker is None or REGISTRY.inside():
                return original(self, *args, **kwargs)
            with REGISTRY.outermost():  # a fit inside predict is not the user's: it logs nothing
                result = original(self, *args, **kwargs)
            data = args[0] if args else kwargs.get("X")
            failures = Failures(integration)
            with failures.guard("recording a prediction"):
                options.tracker.record_prediction(self, data, result, sys._getframe(1))
            failures.report(options.common.silent)
            return result

        return patched

    return make


def patch_metric_functions(integration: str) -> None:
    """Patch the `sklearn.metrics` functions whose arguments are (y_true, predictions, ...)."""
    import sklearn.metrics

    for name in sklearn.metrics.__all__:
        function = getattr(sklearn.metrics, name, None)
        if not inspect.isfunction(function):
            continue
        parameters = list(inspect.signature(function).parameters)
        if parameters[:1] == ["y_true"] and len(parameters) > 1 and parameters[1] in PREDICTION_ARGUMENTS:
            REGISTRY.patch(integration, sklearn.metrics, name, _metric_wrapper(integration, name))


def _metric_wrapper(integration: str, metric: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def patched(*args: Any, **kwargs: Any) -> Any:
            options = REGISTRY.options(integration)
            if options is None or options.tracker is None or REGISTRY.inside():
                return original(*args, **kwargs)
            # NOTE: metrics fit helpers (log_loss fits a LabelBinarizer): those fits log nothing.
            with REGISTRY.outermost():
                value = original(*args, **kwargs)
            if len(args) > 1:
                prediction = args[1]
            else:
                prediction = next((kwargs[a] for a in PREDICTION_ARGUMENTS if a in kwargs), None)
            # NOTE: bool is a Real at run time, though not in typeshed (as in tracking.validation)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                return value
            failures = Failures(integration)
            with failures.guard(f"logging post-training metric {metric}"):
                found = options.tracker.metric_key(metric, prediction)
                if found is not None:
                    fluent.log_metric(found[1], float(value), run_id=found[0])
            failures.report(options.common.silent)
            return value

        return patched

    return make


__all__ = ["FALLBACK_DATASET_NAME", "PREDICT_METHODS", "PostTraining", "patch_metric_functions", "predict_wrapper"]
