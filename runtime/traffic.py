"""Traffic split for one name: each request goes to one of its routes (versions) by weight.

`-m iris=models:/iris@champion:90 -m iris=models:/iris@challenger:10` (or `routes:` in a model
list) serves both versions under `iris`. A request with `X-Shipyard-Route-Key` goes where its key
hashes to (a stable hash: the same key goes to the same route in every process and after every
restart, as long as the weights stay); one without goes by a random draw. The answer names the
version that answered (`X-Shipyard-Model-Version`). Each route is a `ServedModel` of its own,
with its own batcher and (for a stage or alias) follower.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.types import Receive, Scope, Send

from shipyard.exceptions import InvalidInput, ResourceNotFound
from shipyard.runtime.hotpath import Invocations
from shipyard.runtime.model import ServedModel
from shipyard.runtime.shadow import Shadow

ROUTE_KEY_HEADER = "X-Shipyard-Route-Key"
_ROUTE_KEY = ROUTE_KEY_HEADER.lower().encode("latin-1")


def key_point(key: bytes) -> float:
    """A route key as a point in [0, 1): stable across processes (unlike `hash`, salted per process)."""
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") / 2.0**64


class Router:
    """Weighted choice among routes 0..n-1; a zero weight never gets a request."""

    def __init__(self, weights: Sequence[float], *, rng: random.Random | None = None) -> None:
        total = sum(weights)
        if not weights or min(weights) < 0 or total <= 0:
            raise InvalidInput(f"route weights {list(weights)}: give weights >= 0 with a sum above 0")
        self.weights = tuple(weights)
        self._bounds = [b / total for b in itertools.accumulate(weights)]
        self._rng = rng or random.Random()

    def pick(self, key: bytes | None = None) -> int:
        """The route of one request: by `key` when given (sticky), else by a random draw."""
        point = self._rng.random() if key is None else key_point(key)
        return min(bisect.bisect_right(self._bounds, point), len(self._bounds) - 1)


def route_key(headers: Sequence[tuple[bytes, bytes]]) -> bytes | None:
    """The request's `X-Shipyard-Route-Key` (None when absent or empty)."""
    for name, value in headers:
        if name == _ROUTE_KEY:
            return value or None
    return None


@dataclass(frozen=True, slots=True)
class Split:
    """The routes and the shadow served under one name (either may be alone: one route and a
    shadow, or several routes and none)."""

    name: str
    routes: tuple[ServedModel, ...]
    router: Router
    shadow: Shadow | None = None

    def choose(self, key: bytes | None) -> ServedModel:
        return self.routes[self.router.pick(key) if len(self.routes) > 1 else 0]

    def version(self, version: str) -> ServedModel:
        """The route serving `version` (KServe V2's `/v2/models/{name}/versions/{version}`)."""
        for served in self.routes:
            if (served.identity.version or "1") == version:
                return served
        served_versions = ", ".join(repr(s.identity.version or "1") for s in self.routes)
        raise ResourceNotFound(
            f"model {self.name!r} version {version!r} is not served here; it serves {served_versions}"
        )

    def to_dict(self) -> dict[str, object]:
        """What /version says about the split: each route's version and weight, and the shadow."""
        return {
            "routes": [
                {"model": s.identity.to_dict(), "weight": w, "state": s.state}
                for s, w in zip(self.routes, self.router.weights, strict=True)
            ],
            "route_key_header": ROUTE_KEY_HEADER,
            "shadow": None if self.shadow is None else self.shadow.to_dict(),
        }

    async def close(self) -> None:
        if self.shadow is not None:
            await self.shadow.close()


class SplitInvocations:
    """`POST /invocations` of a name with a split or a shadow: pick the route, answer, then copy."""

    def __init__(self, split: Split) -> None:
        after = None if split.shadow is None else split.shadow.after
        self._routes = [Invocations(served, tag_version=True, after=after) for served in split.routes]
        self._router = split.router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        routes = self._routes
        index = self._router.pick(route_key(scope["headers"])) if len(routes) > 1 else 0
        await routes[index](scope, receive, send)


__all__ = ["ROUTE_KEY_HEADER", "Router", "Split", "SplitInvocations", "key_point", "route_key"]
