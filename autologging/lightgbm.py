"""LightGBM autolog (`mlflow.lightgbm.autolog`'s options): `lightgbm.train` and the sklearn-API
estimators' `fit` (see autologging/trees.py for what is recorded).

NOTE: feature importance ("split" and "gain") is logged as JSON, not also as the PNG plots MLflow
draws with matplotlib.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shipyard.autologging.options import common_options, flag, refuse_unsupported
from shipyard.autologging.patches import REGISTRY
from shipyard.autologging.trees import TreeFramework, TreeOptions, enable
from shipyard.flavors.lightgbm import save_model

INTEGRATION = "lightgbm"
IMPORTANCE_TYPES = ("split", "gain")
_UNLOGGED = ("train_set", "valid_sets", "valid_names", "fobj", "feval", "init_model", "learning_rates", "callbacks")
_ESTIMATORS = ("LGBMModel", "LGBMClassifier", "LGBMRegressor", "LGBMRanker")


def _add_recorder(
    args: tuple[Any, ...], kwargs: dict[str, Any], record: Callable[[int, dict[str, float]], None]
) -> dict[str, Any]:
    def recorder(env: Any) -> None:
        """A LightGBM callback: every (data, metric, value, ...) of this iteration."""
        record(
            env.iteration, {f"{data}-{metric}": float(value) for data, metric, value, *_ in env.evaluation_result_list}
        )

    return {**kwargs, "callbacks": [*(kwargs.get("callbacks") or []), recorder]}


def _early_stop(
    booster: Any, args: tuple[Any, ...], kwargs: dict[str, Any], iterations: int
) -> tuple[dict[str, float], int] | None:
    # NOTE: LightGBM's best_iteration is 1-based and 0 when training did not stop early (MLflow's test).
    best = int(booster.best_iteration)
    if best <= 0:
        return None
    return {"stopped_iteration": float(iterations), "best_iteration": float(best)}, best - 1


def _importances(booster: Any, kinds: tuple[str, ...]) -> dict[str, dict[str, float]]:
    names = booster.feature_name()
    out = {}
    for kind in kinds:
        values = booster.feature_importance(importance_type=kind)
        out[kind] = {name: float(v) for name, v in zip(names, values, strict=True)}
    return out


def _train_data(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any] | None:
    # NOTE: read before training: LightGBM frees a Dataset's raw data once it is constructed.
    train_set = args[1] if len(args) > 1 else kwargs.get("train_set")
    data = getattr(train_set, "data", None)
    if data is None or isinstance(data, (str, bytes)) or hasattr(data, "__fspath__"):
        return None  # a file path: nothing in memory to describe
    return data, getattr(train_set, "label", None)


FRAMEWORK = TreeFramework(
    integration=INTEGRATION,
    unlogged=_UNLOGGED,
    add_recorder=_add_recorder,
    early_stop=_early_stop,
    importances=_importances,
    train_data=_train_data,
    booster_of=lambda estimator: estimator.booster_,
    save_model=save_model,
)


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    extra_tags: dict[str, str] | None = None,
) -> None:
    """Turn LightGBM autologging on (MLflow's `mlflow.lightgbm.autolog` options), or off with
    `disable=True`, which puts `train` and every `fit` back as they were."""
    if disable:
        REGISTRY.unpatch(INTEGRATION)
        return
    refuse_unsupported("lightgbm.autolog", disable_for_unsupported_versions=disable_for_unsupported_versions)
    options = TreeOptions(
        common=common_options(
            log_input_examples=log_input_examples,
            log_model_signatures=log_model_signatures,
            log_models=log_models,
            exclusive=exclusive,
            silent=silent,
            registered_model_name=registered_model_name,
            extra_tags=extra_tags,
        ),
        log_datasets=flag("lightgbm.autolog", "log_datasets", log_datasets),
        importance_types=IMPORTANCE_TYPES,
    )
    enable(FRAMEWORK, options, "lightgbm", _ESTIMATORS)


__all__ = ["FRAMEWORK", "INTEGRATION", "autolog"]
