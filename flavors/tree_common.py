"""What the gradient-boosted tree flavors (xgboost, lightgbm) share: class names recorded in
MLmodel, resolved back without importing arbitrary modules, the distribution that provides a
module, and predict-time params checked against the predict function.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

from shipyard.exceptions import InvalidInput, ModelLoadError
from shipyard.flavors.environment import installed_version


def class_name(obj: Any) -> str:
    """MLflow's `model_class`: the fully qualified class name (`xgboost.core.Booster`)."""
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def resolve_class(name: str, package: str, bases: tuple[type, ...]) -> type:
    """The class a recorded `model_class` names, only from `package` and only a subclass of one
    of `bases`.

    NOTE: the name comes from a file anyone may have written; importing whatever it names would
    run that module's code, so anything outside the framework's own package is refused."""
    module_name, _, attr = name.rpartition(".")
    if module_name != package and not module_name.startswith(package + "."):
        raise ModelLoadError(f"model_class {name!r} is not a class of {package}")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ModelLoadError(f"model_class {name!r} does not exist in this {package}: {exc}") from exc
    if not isinstance(cls, type) or not issubclass(cls, bases):
        raise ModelLoadError(f"model_class {name!r} is not one of {package}'s model classes")
    return cls


def providing_distribution(candidates: tuple[str, ...]) -> str:
    """The first installed distribution of `candidates` (e.g. `xgboost-cpu` or `xgboost`, which
    install the same module), so the pin names what is really installed; else the first."""
    for dist in candidates:
        if installed_version(dist) is not None:
            return dist
    return candidates[0]


def predict_kwargs(fn: Callable[..., Any], params: dict[str, Any] | None, what: str) -> dict[str, Any]:
    """Request params as keyword arguments of `fn`; a name `fn` does not take is refused.

    NOTE: MLflow drops unknown params with a warning; a silent drop hides a typo, so Shipyard
    answers 400 naming the params and what the predict function accepts."""
    if not params:
        return {}
    accepted = [
        n
        for n, p in inspect.signature(fn).parameters.items()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and n not in ("self", "data", "X")
    ]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise InvalidInput(f"params {unknown} are not parameters of {what}; allowed: {', '.join(accepted)}")
    return dict(params)


__all__ = ["class_name", "predict_kwargs", "providing_distribution", "resolve_class"]
