"""One loaded, warmed-up model version and the request -> prediction path through its batcher.

A `ServedModel` (`runtime/model.py`) holds one of these at a time; following the registry loads
the next one beside it and swaps. Requests take a lease on the version they start with
(`ServedModel.lease`), so a version being replaced finishes every request it accepted before its
batcher closes and it is dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from shipyard.exceptions import SchemaEnforcementError, ShipyardError
from shipyard.runtime.batcher import Batcher
from shipyard.runtime.identity import ModelIdentity
from shipyard.runtime.rows import count_rows
from shipyard.runtime.scoring import CHAT_KEYS, ScoringRequest, as_frame, schema_input, unschematized_input
from shipyard.runtime.settings import ServeSettings
from shipyard.runtime.workers import Workers

if TYPE_CHECKING:
    # NOTE: flavors.pyfunc imports pandas; the runtime loads it only when a model loads.
    from shipyard.flavors.pyfunc import PyFuncModel
    from shipyard.flavors.signature import ModelSignature

logger = logging.getLogger("shipyard.runtime")

LoadRunner = Callable[..., Awaitable[Any]]
"""How the blocking load runs off the event loop (`Workers.run`, or `asyncio.to_thread` for a
version loaded beside one that is serving, so the load never holds a predict thread)."""


class LoadedVersion:
    """A model version that loaded and passed its warm-up; `load` raises if either step failed."""

    def __init__(self, identity: ModelIdentity, pyfunc: PyFuncModel, batcher: Batcher) -> None:
        from shipyard.flavors.signature import ColSpec  # NOTE: lazy, as the flavors import pandas

        self.identity = identity
        self.pyfunc = pyfunc
        self.batcher = batcher
        signature = pyfunc.signature
        self._param_names = frozenset(
            p.name for p in (signature.params.params if signature is not None and signature.params else ())
        )
        schema = pyfunc.input_schema
        self._frames = schema is not None and any(isinstance(s, ColSpec) and s.is_nested for s in schema.inputs)
        """True when a DataFrame format's body must become a DataFrame before the plan sees it
        (a schema with nested columns: a dict would read as one row)."""
        self.leases = 0
        self._idle = asyncio.Event()

    @classmethod
    async def load(
        cls,
        identity: ModelIdentity,
        settings: ServeSettings,
        workers: Workers,
        *,
        run: LoadRunner,
        on_batch: Callable[[int, int], None] | None = None,
        on_warmup: Callable[[], None] | None = None,
    ) -> LoadedVersion:
        """Load the directory, build the batcher (`--threads` predicts at once), warm up on the
        input example. Raises whatever the load or the warm-up raised."""
        from shipyard.flavors.pyfunc import load_model

        pyfunc = await run(
            load_model,
            identity.local_path,
            allow_pickle=settings.base.allow_pickle,
            skops_trusted_types=settings.base.skops_trusted_types,
            intra_op_threads=settings.intra_op_threads,
        )
        batcher = Batcher(
            pyfunc.predict_prepared,
            start_work=workers.start,
            max_batch_size=settings.max_batch_size,
            max_batch_delay=settings.max_batch_delay_ms / 1000.0,
            max_queue=settings.max_queue,
            max_queue_delay="auto" if settings.max_queue_ms is None else settings.max_queue_ms / 1000.0,
            max_concurrency=settings.threads,
            batchable=pyfunc.batchable,
            on_batch=on_batch,
        )
        if settings.warmup:
            example = pyfunc.input_example()
            if example is None:
                logger.info("model %r has no input example; skipping warm-up", identity.name)
            else:
                if on_warmup is not None:
                    on_warmup()
                try:
                    # NOTE: input_example() is already prepared; it goes straight to the batcher.
                    await batcher.submit(
                        example, count_rows(example), pyfunc.enforce_params(None), timeout=settings.timeout
                    )
                except BaseException:
                    await batcher.close()
                    raise
        return cls(identity, pyfunc, batcher)

    @property
    def signature(self) -> ModelSignature | None:
        return self.pyfunc.signature

    def param_names(self) -> frozenset[str]:
        """The names in the model's params schema (they split a chat-style body)."""
        return self._param_names

    def takes_whole_inputs(self) -> bool:
        """Custom python models take chat-style bodies whole (MLflow passes them through)."""
        from shipyard.flavors.table import LOADER_MODULES  # NOTE: lazy, as the flavors import pandas

        conf = self.pyfunc.metadata.flavors.get("python_function") or {}
        return LOADER_MODULES.get(str(conf.get("loader_module"))) == "python_function"

    def prepare_request(self, parsed: ScoringRequest) -> tuple[Any, int, Any]:
        """A parsed `/invocations` body as `prepare` takes it: for a model without an input
        schema, in the form MLflow would hand it over; a chat-style body only goes to a python
        model."""
        if parsed.whole and not self.takes_whole_inputs():
            raise SchemaEnforcementError(
                f"a chat-style body (top-level {', '.join(repr(k) for k in CHAT_KEYS)}) is only taken by "
                f"custom python models; model {self.identity.name!r} is not one: send one of "
                "'dataframe_split', 'dataframe_records', 'instances' or 'inputs'"
            )
        if self.pyfunc.input_schema is None:
            data = unschematized_input(parsed)
        else:
            data = as_frame(parsed) if self._frames else schema_input(parsed, self.pyfunc.input_schema)
        return self.prepare(data, parsed.params, whole=parsed.whole)

    def prepare(self, data: Any, params: dict[str, Any] | None, *, whole: bool = False) -> tuple[Any, int, Any]:
        """Validate one request against the signature; the caller's mistakes are 400s.
        A `whole` input (a chat-style body) counts as one row and is never split.
        NOTE: only SchemaEnforcementError blames the caller: any other exception here is a bug in
        Shipyard's conversion code, and answers 500 with an error id (never a 400)."""
        prepared = self.pyfunc.prepare_input(data)
        params = self.pyfunc.enforce_params(params)
        if whole:
            return prepared, 1, params
        try:
            rows = count_rows(prepared)
        except ShipyardError as exc:
            raise SchemaEnforcementError(exc.message) from None
        return prepared, rows, params

    def take(self) -> None:
        self.leases += 1
        self._idle.clear()

    def give_back(self) -> None:
        self.leases -= 1
        if self.leases == 0:
            self._idle.set()

    async def retire(self) -> None:
        """Wait until every request that took this version has finished, then close its batcher."""
        while self.leases:
            await self._idle.wait()
        await self.batcher.close()


def input_schema_change(old: LoadedVersion, new: LoadedVersion) -> str | None:
    """How the new version's input schema differs from the old one's (None when equal)."""
    before = old.pyfunc.input_schema
    after = new.pyfunc.input_schema
    if (before is None) != (after is None):
        return f"input schema {'dropped' if after is None else 'added'}"
    if before is None or after is None or before.to_dict() == after.to_dict():
        return None
    return f"input schema changed from {before.to_dict()} to {after.to_dict()}"


__all__ = ["LoadRunner", "LoadedVersion", "input_schema_change"]
