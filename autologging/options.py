"""What each integration was enabled with: MLflow's option names and defaults, checked up front so
a bad value fails in `autolog(...)`, not in the middle of a training run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shipyard.exceptions import InvalidInput
from shipyard.tracking import validation

if TYPE_CHECKING:
    from shipyard.autologging.sklearn_post import PostTraining

NOT_STORED = {
    "log_traces": "traces are not stored by Shipyard, and no integration it patches produces them; "
    "pass log_traces=False",
    "disable_for_unsupported_versions": "Shipyard keeps no table of tested library versions; "
    "every installed version is patched",
    "checkpoint": "Lightning checkpoints are not logged by Shipyard's autolog; use a ModelCheckpoint "
    "callback and log_artifact",
}
"""MLflow autolog options Shipyard cannot honour when turned on, and why."""


def refuse_unsupported(function: str, **given: Any) -> None:
    """`InvalidInput` for the first option in `given` that asks for something `NOT_STORED` names."""
    for name, value in given.items():
        if value:
            raise InvalidInput(f"{function}: {name}={value!r} is not supported: {NOT_STORED[name]}")


@dataclass(frozen=True)
class CommonOptions:
    """The options every integration shares."""

    log_input_examples: bool = False
    log_model_signatures: bool = True
    log_models: bool = True
    exclusive: bool = False
    silent: bool = False
    registered_model_name: str | None = None
    extra_tags: Mapping[str, str] = field(default_factory=dict)


def common_options(
    *,
    log_input_examples: Any,
    log_model_signatures: Any,
    log_models: Any,
    exclusive: Any,
    silent: Any,
    registered_model_name: Any,
    extra_tags: Any,
) -> CommonOptions:
    """Checked `CommonOptions`: flags must be bools, tags a dict of valid keys."""
    flags = {
        "log_input_examples": log_input_examples,
        "log_model_signatures": log_model_signatures,
        "log_models": log_models,
        "exclusive": exclusive,
        "silent": silent,
    }
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise InvalidInput(f"autolog: {name} must be True or False, got {value!r}")
    if registered_model_name is not None and (not isinstance(registered_model_name, str) or not registered_model_name):
        raise InvalidInput(f"autolog: registered_model_name must be a non-empty string, got {registered_model_name!r}")
    if extra_tags is not None and not isinstance(extra_tags, Mapping):
        raise InvalidInput(f"autolog: extra_tags must be a dict of tag names to values, got {extra_tags!r}")
    tags = {validation.check_key(str(k), "tag"): validation.tag_value(str(k), v) for k, v in (extra_tags or {}).items()}
    return CommonOptions(
        log_input_examples=log_input_examples,
        log_model_signatures=log_model_signatures,
        log_models=log_models,
        exclusive=exclusive,
        silent=silent,
        registered_model_name=registered_model_name,
        extra_tags=tags,
    )


@dataclass(frozen=True)
class SklearnOptions:
    common: CommonOptions
    max_tuning_runs: int | None = 5
    log_post_training_metrics: bool = True
    serialization_format: str = "cloudpickle"
    pos_label: Any = None
    log_datasets: bool = False
    tracker: PostTraining | None = None
    """Which predictions came from which autologged model (one per `autolog()` call)."""


@dataclass(frozen=True)
class LightningOptions:
    common: CommonOptions
    log_every_n_epoch: int | None = 1
    log_every_n_step: int | None = None


def flag(function: str, name: str, value: Any) -> bool:
    """A bool option; anything else is refused (MLflow would treat 0 or "no" as a truth value)."""
    if not isinstance(value, bool):
        raise InvalidInput(f"{function}: {name} must be True or False, got {value!r}")
    return value


def positive_or_none(function: str, name: str, value: Any, *, allow_zero: bool = False) -> int | None:
    """An int option that may be None: anything else, or a negative number, is refused."""
    if value is None:
        return None
    lowest = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
        raise InvalidInput(f"{function}: {name} must be None or an integer >= {lowest}, got {value!r}")
    return value


__all__ = [
    "NOT_STORED",
    "CommonOptions",
    "LightningOptions",
    "SklearnOptions",
    "common_options",
    "positive_or_none",
    "refuse_unsupported",
]
