"""The one reversible patch registry: every attribute autolog replaces is recorded with the exact
object it replaced, so turning an integration off puts that object back (identity, not a wrapper).

It also knows whether the current call is already inside an autologged call (`outermost`), which
is how a Pipeline's steps and a search's refits stay quiet while the outer `fit` logs.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

_MISSING = object()
"""Marks a patched attribute the owner only inherited: restoring it means deleting ours."""


@dataclass(frozen=True)
class Patch:
    """One replaced attribute: where, what was there before (raw, from the owner's `__dict__`),
    and what autolog put there."""

    integration: str
    owner: Any
    name: str
    original: Any
    replacement: Any


class PatchRegistry:
    """Patches and options of every integration, behind one lock (autolog may be enabled from
    any thread)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._patches: dict[tuple[int, str], Patch] = {}
        self._options: dict[str, Any] = {}
        self._depth: contextvars.ContextVar[int] = contextvars.ContextVar("shipyard_autolog_depth", default=0)

    def patch(self, integration: str, owner: Any, name: str, make: Callable[[Any], Any]) -> None:
        """Replace `owner.name` by `make(current value)`, once: patching twice is a no-op."""
        with self._lock:
            key = (id(owner), name)
            if key in self._patches:
                return
            original = vars(owner).get(name, _MISSING)
            replacement = make(getattr(owner, name))
            setattr(owner, name, replacement)
            self._patches[key] = Patch(integration, owner, name, original, replacement)

    def unpatch(self, integration: str) -> None:
        """Put back every original of `integration` and forget its options."""
        with self._lock:
            for key, patch in list(self._patches.items()):
                if patch.integration != integration:
                    continue
                if patch.original is _MISSING:
                    delattr(patch.owner, patch.name)
                else:
                    setattr(patch.owner, patch.name, patch.original)
                del self._patches[key]
            self._options.pop(integration, None)

    def patches(self, integration: str) -> list[Patch]:
        with self._lock:
            return [p for p in self._patches.values() if p.integration == integration]

    def set_options(self, integration: str, options: Any) -> None:
        with self._lock:
            self._options[integration] = options

    def options(self, integration: str) -> Any:
        """The options `integration` was enabled with, or None while it is off."""
        return self._options.get(integration)

    def inside(self) -> bool:
        """True within an autologged call on this thread (or asyncio task)."""
        return self._depth.get() > 0

    @contextmanager
    def outermost(self) -> Iterator[None]:
        """Mark the calls made inside as nested (they call the original and log nothing)."""
        token = self._depth.set(self._depth.get() + 1)
        try:
            yield
        finally:
            self._depth.reset(token)


REGISTRY = PatchRegistry()
"""NOTE: deliberately process-wide, like the classes it patches: one registry per process."""

__all__ = ["REGISTRY", "Patch", "PatchRegistry"]
