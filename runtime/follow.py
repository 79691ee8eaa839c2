"""`serve --follow`: poll the registry for the version a stage, alias or `latest` names, and swap
the served model to it when it moves (`ServedModel.swap`).

Each poll is one cheap lookup (`registry.watch.RegistryWatch.current`), run off the event loop. A
target that failed to fetch, load or warm up is not tried again until the registry names another
version (a broken version is not reloaded every few seconds); the old version keeps answering, and
`/version` and `/metrics` name the failed target and why.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from shipyard.registry.watch import RegistryWatch
from shipyard.runtime.identity import ModelIdentity
from shipyard.runtime.model import FailedTarget, ServedModel

logger = logging.getLogger("shipyard.runtime")


class Follower:
    """The polling loop of one served model; `run` until cancelled."""

    def __init__(
        self,
        served: ServedModel,
        watch: RegistryWatch,
        *,
        interval: float,
        name: str | None,
        on_failure: Callable[[FailedTarget | None], None] | None = None,
    ) -> None:
        self.served = served
        self.watch = watch
        self.interval = interval
        self.name = name
        self.poll_error: str | None = None
        """Why the last poll could not reach the registry (None once one did)."""
        self._on_failure = on_failure
        self._given_up: str | None = None

    def to_dict(self) -> dict[str, object]:
        """What /version says about following."""
        failed = self.served.failed
        return {
            "uri": self.watch.uri,
            "poll_interval": self.interval,
            "failed_target": None if failed is None else failed.to_dict(),
            "poll_error": self.poll_error,
        }

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.poll_once()

    async def poll_once(self) -> None:
        """One look at the registry; a swap when it names a version not served and not given up on."""
        try:
            mv = await asyncio.to_thread(self.watch.current)
        except Exception as exc:  # NOTE: a registry outage must not stop serving or following
            self.poll_error = f"{self.watch.uri}: {exc}"
            logger.warning("could not poll the registry: %s", self.poll_error)
            return
        self.poll_error = None
        if self.served.unloaded:  # NOTE: unloaded through the V2 repository API: stays so until loaded
            return
        target = str(mv.version)
        if target == self.served.identity.version and self.served.ready:
            self._given_up = None
            return
        if target == self._given_up:
            return
        try:
            resolved = await asyncio.to_thread(self.watch.fetch, mv)
        except Exception as exc:
            self._fail(FailedTarget(target, f"model {mv.name!r} version {target} could not be fetched: {exc}"))
            return
        identity = ModelIdentity.of(resolved, name=self.name, uri=self.watch.uri)
        if await self.served.swap(identity):
            self._given_up = None
            if self._on_failure is not None:
                self._on_failure(None)
        else:
            self._given_up = target
            if self._on_failure is not None:
                self._on_failure(self.served.failed)

    def _fail(self, failed: FailedTarget) -> None:
        logger.error("%s; still serving version %s", failed.reason, self.served.identity.version)
        self.served.failed = failed
        self._given_up = failed.version
        if self._on_failure is not None:
            self._on_failure(failed)


__all__ = ["Follower"]
