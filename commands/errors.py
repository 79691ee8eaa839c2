"""The one way a command reports a Shipyard error: `Error: <CODE>: <message>` and exit 1.

A usage mistake (a bad flag or value) is click's `UsageError`/`BadParameter`: exit 2. Neither
ever shows a traceback.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

import click

from shipyard.exceptions import ShipyardError

P = ParamSpec("P")
R = TypeVar("R")


@contextlib.contextmanager
def reported_errors() -> Iterator[None]:
    """Turn a `ShipyardError` raised inside into click's one-line error (exit 1)."""
    try:
        yield
    except ShipyardError as exc:
        raise click.ClickException(f"{exc.error_code}: {exc.message}") from None


def reports_errors(func: Callable[P, R]) -> Callable[P, R]:
    """`reported_errors` around a whole command callback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with reported_errors():
            return func(*args, **kwargs)

    return wrapper


__all__ = ["reported_errors", "reports_errors"]
