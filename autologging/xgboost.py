"""XGBoost autolog (`mlflow.xgboost.autolog`'s options): `xgboost.train` and the sklearn-API
estimators' `fit` (see autologging/trees.py for what is recorded).

NOTE: feature importance is logged as JSON (`feature_importance_<type>.json`), not also as the
PNG plots MLflow draws with matplotlib.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shipyard.autologging.options import common_options, flag, refuse_unsupported
from shipyard.autologging.patches import REGISTRY
from shipyard.autologging.trees import TreeFramework, TreeOptions, enable
from shipyard.exceptions import InvalidInput
from shipyard.flavors.xgboost import MODEL_FORMATS, save_model

INTEGRATION = "xgboost"
IMPORTANCE_TYPES = ("weight", "gain", "cover", "total_gain", "total_cover")
_UNLOGGED = (
    "dtrain",
    "evals",
    "obj",
    "feval",
    "evals_result",
    "xgb_model",
    "callbacks",
    "learning_rates",
)
_ESTIMATORS = ("XGBModel", "XGBClassifier", "XGBRegressor", "XGBRanker", "XGBRFClassifier", "XGBRFRegressor")


def _add_recorder(
    args: tuple[Any, ...], kwargs: dict[str, Any], record: Callable[[int, dict[str, float]], None]
) -> dict[str, Any]:
    import xgboost as xgb

    class Recorder(xgb.callback.TrainingCallback):
        """Each iteration's last value of every eval set's metrics (`<data>-<metric>`)."""

        def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, dict[str, Any]]) -> bool:
            metrics = {}
            for data_name, by_metric in evals_log.items():
                for metric_name, values in by_metric.items():
                    last = values[-1]
                    metrics[f"{data_name}-{metric_name}"] = float(last[0] if isinstance(last, tuple) else last)
            record(epoch, metrics)
            return False

    return {**kwargs, "callbacks": [*(kwargs.get("callbacks") or []), Recorder()]}


def _early_stop(
    booster: Any, args: tuple[Any, ...], kwargs: dict[str, Any], iterations: int
) -> tuple[dict[str, float], int] | None:
    import xgboost as xgb

    stopper = any(isinstance(c, xgb.callback.EarlyStopping) for c in kwargs.get("callbacks") or [])
    if not kwargs.get("early_stopping_rounds") and not stopper:
        return None
    best = int(booster.best_iteration)
    return {"stopped_iteration": float(iterations - 1), "best_iteration": float(best)}, best


def _importances(booster: Any, kinds: tuple[str, ...]) -> dict[str, dict[str, float]]:
    return {kind: {k: float(v) for k, v in booster.get_score(importance_type=kind).items()} for kind in kinds}


def _train_data(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any] | None:
    dtrain = args[1] if len(args) > 1 else kwargs.get("dtrain")
    if dtrain is None:
        return None
    label = dtrain.get_label()
    return dtrain.get_data(), (label if label.size else None)


FRAMEWORK = TreeFramework(
    integration=INTEGRATION,
    unlogged=_UNLOGGED,
    add_recorder=_add_recorder,
    early_stop=_early_stop,
    importances=_importances,
    train_data=_train_data,
    booster_of=lambda estimator: estimator.get_booster(),
    save_model=save_model,
)


def autolog(
    importance_types: list[str] | None = None,
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    model_format: str = "ubj",
    extra_tags: dict[str, str] | None = None,
) -> None:
    """Turn XGBoost autologging on (MLflow's `mlflow.xgboost.autolog` options), or off with
    `disable=True`, which puts `train` and every `fit` back as they were."""
    if disable:
        REGISTRY.unpatch(INTEGRATION)
        return
    refuse_unsupported("xgboost.autolog", disable_for_unsupported_versions=disable_for_unsupported_versions)
    kinds = tuple(importance_types) if importance_types is not None else ("weight",)
    unknown = sorted(set(kinds) - set(IMPORTANCE_TYPES))
    if unknown:
        raise InvalidInput(
            f"xgboost.autolog: importance_types {unknown} are not XGBoost's; allowed: {IMPORTANCE_TYPES}"
        )
    if model_format not in MODEL_FORMATS:
        raise InvalidInput(f"xgboost.autolog: model_format {model_format!r} is not supported; allowed: {MODEL_FORMATS}")
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
        log_datasets=flag("xgboost.autolog", "log_datasets", log_datasets),
        importance_types=kinds,
        save_kwargs={"model_format": model_format},
    )
    enable(FRAMEWORK, options, "xgboost", _ESTIMATORS)


__all__ = ["FRAMEWORK", "INTEGRATION", "autolog"]
