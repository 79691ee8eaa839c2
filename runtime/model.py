"""The served model: the version answering now, its readiness, and the atomic swap to another.

Readiness is a small state machine: `loading` until the first version is loaded *and* a warm-up
predict on its saved input example passed, then `ready`; `failed` (with the reason) if either step
raised. Health endpoints answer from it, so a load balancer never routes to a cold or broken
replica. Once ready, a swap (`swap`, driven by `runtime/follow.py`) loads the next version beside
the current one and only replaces it when the new one warmed up; a failed swap leaves the server
ready on the old version and records the failed target and its reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shipyard.exceptions import TemporarilyUnavailable
from shipyard.runtime.identity import ModelIdentity, resolve_model
from shipyard.runtime.loaded import LoadedVersion, input_schema_change
from shipyard.runtime.scoring import ScoringRequest
from shipyard.runtime.settings import ServeSettings
from shipyard.runtime.workers import Workers

if TYPE_CHECKING:
    # NOTE: flavors.pyfunc imports pandas; the runtime loads it only when a model loads.
    from shipyard.flavors.pyfunc import PyFuncModel
    from shipyard.flavors.signature import ModelSignature
    from shipyard.runtime.batcher import Batcher

logger = logging.getLogger("shipyard.runtime")


@dataclass(frozen=True, slots=True)
class FailedTarget:
    """A version the server was asked to move to and did not: it keeps the one it had."""

    version: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "reason": self.reason}


class ServedModel:
    """Loads the model in a worker thread, warms it up, then predicts through the batcher."""

    def __init__(
        self,
        identity: ModelIdentity,
        settings: ServeSettings,
        workers: Workers,
        *,
        batch_observer: Callable[[ModelIdentity], Callable[[int, int], None]] | None = None,
        on_swap: Callable[[ModelIdentity], None] | None = None,
    ) -> None:
        """`batch_observer(identity)`: where a loaded version reports its batches (its labels);
        `on_swap(identity)`: called once another version answers."""
        self._first = identity
        self.settings = settings
        self.workers = workers
        self.state = "loading"
        self.reason = f"model {identity.name!r} is loading"
        self.current: LoadedVersion | None = None
        self.failed: FailedTarget | None = None
        """The last target a swap did not reach (cleared by the next successful swap)."""
        self._batch_observer = batch_observer
        self._on_swap = on_swap
        self._retiring: set[asyncio.Task[None]] = set()

    @property
    def identity(self) -> ModelIdentity:
        """The identity of the version answering now (the first one's before it loaded)."""
        return self.current.identity if self.current is not None else self._first

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    @property
    def pyfunc(self) -> PyFuncModel | None:
        return self.current.pyfunc if self.current is not None else None

    @property
    def batcher(self) -> Batcher | None:
        return self.current.batcher if self.current is not None else None

    @property
    def signature(self) -> ModelSignature | None:
        """The loaded model's signature; None before the load, or when the model was saved without one."""
        return self.current.signature if self.current is not None else None

    def queue_depth(self) -> int:
        """Requests waiting for predict (0 before the load)."""
        return self.current.batcher.queue_depth if self.current is not None else 0

    def ready_version(self) -> LoadedVersion:
        """The version answering now; 503 with the reason before it is ready."""
        if not self.ready or self.current is None:
            raise TemporarilyUnavailable(self.reason)
        return self.current

    @contextlib.contextmanager
    def lease(self) -> Iterator[LoadedVersion]:
        """The version a request runs on, start to end: a swap meanwhile closes it only after."""
        version = self.ready_version()
        version.take()
        try:
            yield version
        finally:
            version.give_back()

    def ready_batcher(self) -> Batcher:
        """The batcher once the model is loaded and warmed up; 503 with the reason before that."""
        return self.ready_version().batcher

    def loaded(self) -> LoadedVersion:
        """The loaded version; 503 with the reason while it is loading or after it failed."""
        if self.current is None:
            raise TemporarilyUnavailable(self.reason)
        return self.current

    async def load(self) -> None:
        """Load + warm up the first version; never raises (the failure becomes the readiness reason)."""
        # NOTE: importing a framework allocates hundreds of thousands of long-lived objects, and
        # every automatic full collection during the load walks all of them again. With the
        # collector off until the model is ready, an iris image answers its first 200 about 0.2 s
        # sooner (of 1.5 s). Nothing is collected before the freeze: the imports leave about a
        # thousand unreachable objects, not worth the 70-130 ms a full gc.collect() costs.
        self.state, self.reason = "loading", f"model {self._first.name!r} is loading"
        gc.disable()
        try:
            await self._load()
        finally:
            gc.enable()

    def _observer(self, identity: ModelIdentity) -> Callable[[int, int], None] | None:
        return None if self._batch_observer is None else self._batch_observer(identity)

    def _warming(self) -> None:
        self.reason = f"model {self._first.name!r} is warming up"

    async def _load(self) -> None:
        try:
            self.current = await LoadedVersion.load(
                self._first,
                self.settings,
                self.workers,
                run=self.workers.run,
                on_batch=self._observer(self._first),
                on_warmup=self._warming,
            )
        except Exception as exc:
            self.state = "failed"
            self.reason = f"model {self._first.name!r} failed to load or warm up: {exc}"
            logger.error("%s\n%s", self.reason, traceback.format_exc())
            return
        # NOTE: the frameworks leave millions of long-lived objects; freezing them keeps every
        # later garbage collection from walking them again (measured: most of the CPU per request).
        gc.freeze()
        self.state, self.reason = "ready", "ready"
        logger.info("model %r is ready (%s)", self._first.name, self._first.local_path)

    async def swap(self, identity: ModelIdentity) -> bool:
        """Load `identity` beside the version serving now, warm it up, then make it answer every
        later request; the old one finishes what it accepted and is released. False (and
        `failed` set) when the new one did not load or warm up: the old one keeps answering."""
        target = f"model {identity.name!r} version {identity.version}"
        logger.info("loading %s beside the version serving now", target)
        try:
            # NOTE: loaded on its own thread, not the predict pool: the old version keeps all of it.
            new = await LoadedVersion.load(
                identity, self.settings, self.workers, run=asyncio.to_thread, on_batch=self._observer(identity)
            )
        except Exception as exc:
            self.failed = FailedTarget(identity.version, f"{target} failed to load or warm up: {exc}")
            logger.error(
                "%s; still serving version %s\n%s", self.failed.reason, self.identity.version, traceback.format_exc()
            )
            return False
        old = self.current
        if old is not None and (change := input_schema_change(old, new)) is not None:
            logger.warning("SIGNATURE CHANGE: %s: %s; requests the old version took may now be refused", target, change)
        self.current, self.failed, self._first = new, None, identity
        self.state, self.reason = "ready", "ready"
        if self._on_swap is not None:
            self._on_swap(identity)
        logger.info("%s is answering (was version %s)", target, None if old is None else old.identity.version)
        if old is not None:
            task = asyncio.get_running_loop().create_task(self._retire(old))
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)
        return True

    async def _retire(self, old: LoadedVersion) -> None:
        await old.retire()
        logger.info("released model %r version %s", old.identity.name, old.identity.version)
        del old
        # NOTE: the first load froze every object it made (gc.freeze), the old model's included;
        # unfrozen and collected once here, the cycles it leaves are freed, then the rest is
        # frozen again so later collections keep skipping the new model's objects.
        gc.unfreeze()
        gc.collect()
        gc.freeze()

    @property
    def unloaded(self) -> bool:
        return self.state == "unloaded"

    async def unload(self) -> None:
        """KServe V2 repository `unload`: stop answering, finish what was accepted, release the
        model; `load` brings the same version back."""
        old, self.current = self.current, None
        self.state = "unloaded"
        self.reason = f"model {self._first.name!r} is unloaded (POST /v2/repository/models/{self._first.name}/load)"
        if old is not None:
            await self._retire(old)

    def param_names(self) -> frozenset[str]:
        """The names in the model's params schema (they split a chat-style body); 503 before the load."""
        return self.loaded().param_names()

    def takes_whole_inputs(self) -> bool:
        """Custom python models take chat-style bodies whole (MLflow passes them through)."""
        return self.loaded().takes_whole_inputs()

    def prepare_request(self, parsed: ScoringRequest) -> tuple[Any, int, Any]:
        """`LoadedVersion.prepare_request` on the version answering now."""
        return self.loaded().prepare_request(parsed)

    def prepare(self, data: Any, params: dict[str, Any] | None, *, whole: bool = False) -> tuple[Any, int, Any]:
        """`LoadedVersion.prepare` on the version answering now."""
        return self.loaded().prepare(data, params, whole=whole)

    async def close(self) -> None:
        for task in list(self._retiring):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.current is not None:
            await self.current.batcher.close()


__all__ = ["FailedTarget", "ModelIdentity", "ServedModel", "resolve_model"]
