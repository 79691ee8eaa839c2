"""Checks on what callers log, run where they call (so a bad key fails in the training loop, not
later in the background writer). Limits follow MLflow's."""

from __future__ import annotations

import math
import numbers
import re
from typing import Any

from shipyard.exceptions import InvalidInput

MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_EXPERIMENT_NAME_LENGTH = 256
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
KEY_PATTERN = re.compile(r"[\w\-./ :]+")
"""What a metric/param/tag key may hold. NOTE: always `fullmatch`: `^...$` with `match` accepts a
trailing newline (`"loss\n"`), since `$` matches before one."""
_RUN_ID = re.compile(r"[a-zA-Z0-9][\w\-]{0,255}")


def check_key(key: str, what: str = "metric") -> str:
    """A metric/param/tag key: letters, digits, `_ - . / : space`, at most 250 characters, and no
    `..` or leading `/` (keys become file paths in some stores)."""
    if not isinstance(key, str) or not key:
        raise InvalidInput(f"{what} key must be a non-empty string, got {key!r}")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(f"{what} key {key[:40]!r}... is {len(key)} characters; the limit is {MAX_KEY_LENGTH}")
    if not KEY_PATTERN.fullmatch(key) or key.startswith("/") or ".." in key.split("/"):
        raise InvalidInput(
            f"{what} key {key!r} is not allowed: use letters, digits, underscores, dashes, periods, "
            "spaces, colons and slashes (no leading '/' and no '..')"
        )
    return key


def metric_value(key: str, value: Any) -> float:
    """The metric as a float; bools and non-numbers are refused."""
    if type(value) is float or type(value) is int:
        return float(value)
    # NOTE: bool is a Number (an int) at run time, though not in typeshed: test it first.
    if isinstance(value, (bool, complex)) or not isinstance(value, numbers.Number):
        raise InvalidInput(f"metric {key!r} has value {value!r} of type {type(value).__name__}; expected a number")
    return float(value)  # type: ignore[arg-type]  # Number declares no __float__; the concrete ones all have it


def in_int64(name: str, value: int) -> int:
    """`value` if a database's BIGINT holds it (sqlite raises OverflowError past it, PostgreSQL a
    DataError: both would be a 500 or a lost batch)."""
    if not INT64_MIN <= value <= INT64_MAX:
        raise InvalidInput(f"{name} {value} is out of range; it must be between {INT64_MIN} and {INT64_MAX}")
    return value


def metric_step(key: str, step: Any) -> int:
    if step is None:
        return 0
    if not isinstance(step, bool) and isinstance(step, numbers.Integral):
        return in_int64(f"metric {key!r} step", int(step))
    raise InvalidInput(f"metric {key!r} has step {step!r}; expected an integer")


def metric_timestamp(key: str, timestamp: Any) -> int:
    """Milliseconds since the epoch, as an int64."""
    if not isinstance(timestamp, bool) and isinstance(timestamp, numbers.Integral):
        return in_int64(f"metric {key!r} timestamp", int(timestamp))
    raise InvalidInput(f"metric {key!r} has timestamp {timestamp!r}; expected an integer (milliseconds)")


def param_value(key: str, value: Any) -> str:
    text = str(value)
    if len(text) > MAX_PARAM_VALUE_LENGTH:
        raise InvalidInput(f"param {key!r} value is {len(text)} characters; the limit is {MAX_PARAM_VALUE_LENGTH}")
    return text


def tag_value(key: str, value: Any) -> str:
    text = str(value)
    if len(text) > MAX_TAG_VALUE_LENGTH:
        raise InvalidInput(f"tag {key!r} value is {len(text)} characters; the limit is {MAX_TAG_VALUE_LENGTH}")
    return text


def check_experiment_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"experiment name must be a non-empty string, got {name!r}")
    if len(name) > MAX_EXPERIMENT_NAME_LENGTH:
        raise InvalidInput(
            f"experiment name {name[:40]!r}... is {len(name)} characters; the limit is {MAX_EXPERIMENT_NAME_LENGTH}"
        )
    return name


def check_run_id(run_id: Any) -> str:
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
        raise InvalidInput(f"run_id {run_id!r} is not a valid run id (letters, digits, '-' and '_')")
    return run_id


def check_experiment_id(experiment_id: Any) -> int:
    try:
        number = int(str(experiment_id))
    except ValueError:
        raise InvalidInput(f"experiment_id {experiment_id!r} is not a valid experiment id (an integer)") from None
    return in_int64("experiment_id", number)


def is_nan(value: float) -> bool:
    return math.isnan(value)


__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "KEY_PATTERN",
    "check_experiment_id",
    "check_experiment_name",
    "check_key",
    "check_run_id",
    "in_int64",
    "metric_step",
    "metric_timestamp",
    "metric_value",
    "param_value",
    "tag_value",
]
