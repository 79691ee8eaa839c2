"""`shipyard.autolog()`: every integration whose library is importable, now if it is imported
already, else as soon as it is (an import hook), so `autolog()` itself imports no framework."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from shipyard.autologging import lightgbm, lightning, sklearn, xgboost
from shipyard.autologging.options import common_options, flag, refuse_unsupported
from shipyard.autologging.patches import REGISTRY
from shipyard.autologging.safety import Failures
from shipyard.exceptions import InvalidInput

INTEGRATIONS: dict[str, tuple[tuple[str, ...], Callable[..., None]]] = {
    "sklearn": (("sklearn",), sklearn.autolog),
    "pytorch": (("lightning", "pytorch_lightning"), lightning.autolog),
    "xgboost": (("xgboost",), xgboost.autolog),
    "lightgbm": (("lightgbm",), lightgbm.autolog),
}
"""MLflow's flavor name -> (the top-level modules whose import enables it, its autolog)."""
_WATCHER_KEY = "__import_watcher__"


class ImportWatcher(importlib.abc.MetaPathFinder):
    """Calls `on_import[name]()` right after the top-level module `name` is first imported."""

    def __init__(self, on_import: dict[str, Callable[[], None]]) -> None:
        self.on_import = on_import
        self._finding: set[str] = set()
        self._lock = threading.Lock()

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        hook = self.on_import.get(fullname)
        with self._lock:
            if hook is None or fullname in self._finding:
                return None
            self._finding.add(fullname)
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            with self._lock:
                self._finding.discard(fullname)
        loader = spec.loader if spec is not None else None
        if spec is None or loader is None or not hasattr(loader, "exec_module"):
            return None
        exec_module = loader.exec_module

        def exec_then_enable(module: ModuleType) -> None:
            exec_module(module)
            hook()

        loader.exec_module = exec_then_enable  # type: ignore[method-assign]
        return spec


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = False,
    log_traces: bool = False,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    extra_tags: dict[str, str] | None = None,
    exclude_flavors: list[str] | None = None,
    *,
    registered_model_name: str | None = None,
) -> None:
    """Turn on autologging for scikit-learn, PyTorch Lightning, XGBoost and LightGBM (MLflow's `mlflow.autolog`
    options; `registered_model_name` registers every logged model), or everything off with
    `disable=True`."""
    excluded = _excluded(exclude_flavors)
    _stop_watching()
    if disable:
        for name in INTEGRATIONS:
            INTEGRATIONS[name][1](disable=True)
        return
    refuse_unsupported(
        "autolog",
        log_traces=log_traces,
        disable_for_unsupported_versions=disable_for_unsupported_versions,
    )
    shared: dict[str, Any] = {
        "log_models": log_models,
        "log_model_signatures": log_model_signatures,
        "exclusive": exclusive,
        "silent": silent,
        "registered_model_name": registered_model_name,
        "extra_tags": extra_tags,
    }
    # checked here, so a bad value is an error now, not a warning when a library is imported
    common_options(log_input_examples=log_input_examples, **shared)
    datasets = {"log_datasets": flag("autolog", "log_datasets", log_datasets)}
    per_integration = {
        "sklearn": {**shared, **datasets, "log_input_examples": log_input_examples},
        "pytorch": {**shared, **datasets},
        "xgboost": {**shared, **datasets, "log_input_examples": log_input_examples},
        "lightgbm": {**shared, **datasets, "log_input_examples": log_input_examples},
    }
    pending: dict[str, Callable[[], None]] = {}
    for name, (modules, enable) in INTEGRATIONS.items():
        if name in excluded:
            enable(disable=True)
            continue
        kwargs = per_integration[name]
        enable_now = _guarded(name, enable, kwargs, silent)
        if any(module in sys.modules for module in modules):
            enable_now()
        elif any(_importable(module) for module in modules):
            pending.update({module: enable_now for module in modules})
    if pending:
        watcher = ImportWatcher(pending)
        sys.meta_path.insert(0, watcher)
        REGISTRY.set_options(_WATCHER_KEY, watcher)


def _excluded(exclude_flavors: Any) -> set[str]:
    if exclude_flavors is None:
        return set()
    if not isinstance(exclude_flavors, list | tuple | set) or not all(isinstance(n, str) for n in exclude_flavors):
        raise InvalidInput(f"autolog: exclude_flavors must be a list of flavor names, got {exclude_flavors!r}")
    unknown = sorted(set(exclude_flavors) - set(INTEGRATIONS))
    if unknown:
        raise InvalidInput(
            f"autolog: exclude_flavors names {', '.join(unknown)}, which Shipyard does not autolog; "
            f"allowed: {', '.join(INTEGRATIONS)}"
        )
    return set(exclude_flavors)


def _guarded(name: str, enable: Callable[..., None], kwargs: dict[str, Any], silent: bool) -> Callable[[], None]:
    """Enable one integration; a failure (an incompatible library version) is one warning, as
    an import that enables autolog must never fail the user's import."""

    def enable_now() -> None:
        failures = Failures(name)
        with failures.guard("enabling autolog"):
            enable(**kwargs)
        failures.report(silent)

    return enable_now


def _importable(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _stop_watching() -> None:
    watcher = REGISTRY.options(_WATCHER_KEY)
    if watcher is not None:
        if watcher in sys.meta_path:
            sys.meta_path.remove(watcher)
        REGISTRY.unpatch(_WATCHER_KEY)


__all__ = ["INTEGRATIONS", "ImportWatcher", "autolog"]
