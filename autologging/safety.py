"""Never in the way: a failure inside autolog's own logging becomes one warning per call, and the
user's training returns its normal result."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from contextlib import contextmanager


class AutologWarning(UserWarning):
    """Autolog could not record something; the user's training was not affected."""


class Failures:
    """Collects what went wrong in one autologged call, to be reported once at its end."""

    def __init__(self, integration: str) -> None:
        self.integration = integration
        self.problems: list[str] = []

    @contextmanager
    def guard(self, what: str) -> Iterator[None]:
        """Run a part of the logging; an exception in it is noted and the next part goes on."""
        try:
            yield
        except Exception as error:  # noqa: BLE001 - autolog must never break the user's training
            self.problems.append(f"{what}: {type(error).__name__}: {error}")

    def report(self, silent: bool, *, quietly: bool = False) -> None:
        """One `AutologWarning` naming every failed part (none when `silent`).

        `quietly=True` is for the path where the user's own exception is on its way up: a
        warnings filter that turns warnings into errors must not replace that exception."""
        if silent or not self.problems:
            return
        message = f"shipyard {self.integration} autolog could not record: " + "; ".join(self.problems)
        if quietly:
            with contextlib.suppress(Warning):
                warnings.warn(message, AutologWarning, stacklevel=4)
        else:
            warnings.warn(message, AutologWarning, stacklevel=4)


__all__ = ["AutologWarning", "Failures"]
