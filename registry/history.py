"""Deployment history replay: which version a stage or alias pointed at before, for rollback.

History rows are append-only, so the "deployment stack" of a stage or alias is recomputed from
them each time: a transition into the stage (or an alias set) pushes its version; an alias delete
pushes None; a rollback truncates the stack back to the version it restored. Rolling back twice
therefore walks two deployments back instead of toggling between the last two.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from shipyard.exceptions import InvalidState
from shipyard.registry.entities import (
    HISTORY_DELETE_ALIAS,
    HISTORY_ROLLBACK,
    HISTORY_SET_ALIAS,
    HISTORY_TRANSITION,
    HistoryEntry,
)


def _version_or_none(text: str | None) -> int | None:
    return int(text) if text not in (None, "") else None


def _restore(stack: list[int | None], restored: int | None) -> None:
    """A rollback to `restored`: drop everything above its last occurrence (or push it)."""
    for i in range(len(stack) - 1, -1, -1):
        if stack[i] == restored:
            del stack[i + 1 :]
            return
    stack.append(restored)


def stage_stack(entries: Iterable[HistoryEntry], stage: str) -> list[int | None]:
    """Versions moved into `stage`, oldest first, with rolled-back deployments removed."""
    stack: list[int | None] = []
    for e in entries:
        if e.alias is not None or e.to_value != stage or e.version is None:
            continue
        if e.action == HISTORY_TRANSITION:
            stack.append(e.version)
        elif e.action == HISTORY_ROLLBACK:
            _restore(stack, e.version)
    return stack


def alias_stack(entries: Iterable[HistoryEntry], alias: str) -> list[int | None]:
    """Versions `alias` pointed at, oldest first (None where it was deleted)."""
    stack: list[int | None] = []
    for e in entries:
        if e.alias != alias:
            continue
        if e.action in (HISTORY_SET_ALIAS, HISTORY_DELETE_ALIAS):
            stack.append(_version_or_none(e.to_value))
        elif e.action == HISTORY_ROLLBACK:
            _restore(stack, _version_or_none(e.to_value))
    return stack


def previous_version(
    stack: list[int | None],
    current: set[int],
    usable: Callable[[int], bool],
    *,
    what: str,
) -> int:
    """The newest deployment below what is live now that can still be loaded."""
    s = list(stack)
    while s and (s[-1] is None or s[-1] in current or not usable(s[-1])):
        s.pop()
    if not s:
        live = ", ".join(f"version {v}" for v in sorted(current)) or "nothing"
        raise InvalidState(
            f"{what} has no earlier version to roll back to (it points at {live}; "
            f"its history holds {', '.join(str(v) for v in stack if v is not None) or 'no versions'})"
        )
    version = s[-1]
    assert version is not None
    return version


__all__ = ["alias_stack", "previous_version", "stage_stack"]
