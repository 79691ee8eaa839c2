"""The served model: where it came from, its readiness, and the request -> prediction path.

Readiness is a small state machine: `loading` until the model is loaded *and* a warm-up predict on
its saved input example passed, then `ready`; `failed` (with the reason) if either step raised.
Health endpoints answer from it, so a load balancer never routes to a cold or broken replica.
"""

from __future__ import annotations

import gc
import logging
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.exceptions import (
    InvalidInput,
    SchemaEnforcementError,
    ShipyardError,
    TemporarilyUnavailable,
)
from shipyard.registry.uris import resolve_model_uri
from shipyard.runtime.batcher import Batcher
from shipyard.runtime.rows import count_rows
from shipyard.runtime.scoring import CHAT_KEYS, ScoringRequest, as_frame, unschematized_input
from shipyard.runtime.settings import ServeSettings
from shipyard.runtime.workers import Workers
from shipyard.settings import Settings

if TYPE_CHECKING:
    # NOTE: flavors.pyfunc imports pandas; the runtime loads it only when a model loads.
    from shipyard.flavors.pyfunc import PyFuncModel
    from shipyard.flavors.signature import ModelSignature

logger = logging.getLogger("shipyard.runtime")


@dataclass(frozen=True)
class ModelIdentity:
    """Who the served model is: shown by /version and /v2/models/{name}, and on every metric."""

    name: str
    local_path: str
    source_uri: str
    version: str | None = None
    stage: str | None = None
    aliases: tuple[str, ...] = field(default_factory=tuple)
    digest: str | None = None
    run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["aliases"] = list(self.aliases)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelIdentity:
        """The inverse of `to_dict` (the worker hand-off)."""
        return cls(**{**data, "aliases": tuple(data.get("aliases") or ())})

    def labels(self) -> dict[str, str]:
        """Prometheus labels (empty strings where unknown)."""
        return {
            "model_name": self.name,
            "model_version": self.version or "",
            "model_stage": self.stage or ",".join(self.aliases),
            "model_digest": (self.digest or "")[:16],
        }


def resolve_model(uri: str, *, name: str | None, settings: Settings) -> ModelIdentity:
    """The one place `serve` turns a model URI into a local directory and an identity.

    The name is `--name`, else the registered model's name, else the directory's name."""
    if not uri:
        raise InvalidInput("no model given: pass -m/--model-uri or set SHIPYARD_MODEL_URI")
    resolved = resolve_model_uri(uri, settings=settings)
    local = Path(resolved.local_path)
    return ModelIdentity(
        name=name or resolved.name or local.name,
        local_path=str(local),
        source_uri=resolved.source_uri or uri,
        version=None if resolved.version is None else str(resolved.version),
        stage=resolved.stage,
        aliases=tuple(resolved.aliases or ()),
        digest=resolved.digest,
        run_id=resolved.run_id,
    )


class ServedModel:
    """Loads the model in a worker thread, warms it up, then predicts through the batcher."""

    def __init__(
        self,
        identity: ModelIdentity,
        settings: ServeSettings,
        workers: Workers,
        *,
        on_batch: Callable[[int, int], None] | None = None,
    ) -> None:
        self.identity = identity
        self.settings = settings
        self.workers = workers
        self.state = "loading"
        self.reason = f"model {identity.name!r} is loading"
        self.pyfunc: PyFuncModel | None = None
        self.batcher: Batcher | None = None
        self._param_names: frozenset[str] = frozenset()
        self._frames = False
        """True when a DataFrame format's body must become a DataFrame before the plan sees it
        (a schema with nested columns: a dict would read as one row)."""
        self._on_batch = on_batch

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    @property
    def signature(self) -> ModelSignature | None:
        """The loaded model's signature; None before the load, or when the model was saved without one."""
        return self.pyfunc.signature if self.pyfunc is not None else None

    def queue_depth(self) -> int:
        """Requests waiting for predict (0 before the load)."""
        return self.batcher.queue_depth if self.batcher is not None else 0

    def ready_batcher(self) -> Batcher:
        """The batcher once the model is loaded and warmed up; 503 with the reason before that."""
        if not self.ready or self.batcher is None:
            raise TemporarilyUnavailable(self.reason)
        return self.batcher

    def loaded(self) -> PyFuncModel:
        """The loaded model; 503 with the reason while it is loading or after it failed."""
        if self.pyfunc is None:
            raise TemporarilyUnavailable(self.reason)
        return self.pyfunc

    async def load(self) -> None:
        """Load + warm up; never raises (the failure becomes the readiness reason)."""
        # NOTE: importing a framework allocates hundreds of thousands of long-lived objects, and
        # every automatic full collection during the load walks all of them again. With the
        # collector off until the model is ready, an iris image answers its first 200 about 0.2 s
        # sooner (of 1.5 s). Nothing is collected before the freeze: the imports leave about a
        # thousand unreachable objects, not worth the 70-130 ms a full gc.collect() costs.
        gc.disable()
        try:
            await self._load()
        finally:
            gc.enable()

    async def _load(self) -> None:
        from shipyard.flavors.pyfunc import load_model
        from shipyard.flavors.signature import ColSpec

        try:
            self.pyfunc = pyfunc = await self.workers.run(
                load_model,
                self.identity.local_path,
                allow_pickle=self.settings.base.allow_pickle,
                intra_op_threads=self.settings.intra_op_threads,
            )
            signature = pyfunc.signature
            if signature is not None and signature.params is not None:
                self._param_names = frozenset(p.name for p in signature.params.params)
            schema = pyfunc.input_schema
            self._frames = schema is not None and any(isinstance(s, ColSpec) and s.is_nested for s in schema.inputs)
            s = self.settings
            self.batcher = Batcher(
                pyfunc.predict_prepared,
                start_work=self.workers.start,
                max_batch_size=s.max_batch_size,
                max_batch_delay=s.max_batch_delay_ms / 1000.0,
                max_queue=s.max_queue,
                max_concurrency=1,
                batchable=pyfunc.batchable,
                on_batch=self._on_batch,
            )
            if s.warmup:
                example = pyfunc.input_example()
                if example is None:
                    logger.info("model %r has no input example; skipping warm-up", self.identity.name)
                else:
                    # NOTE: input_example() is already prepared; it goes straight to the batcher.
                    self.reason = f"model {self.identity.name!r} is warming up"
                    await self.batcher.submit(
                        example,
                        count_rows(example),
                        pyfunc.enforce_params(None),
                        timeout=s.timeout,
                    )
        except Exception as exc:
            self.state = "failed"
            self.reason = f"model {self.identity.name!r} failed to load or warm up: {exc}"
            logger.error("%s\n%s", self.reason, traceback.format_exc())
            return
        # NOTE: the frameworks leave millions of long-lived objects; freezing them keeps every
        # later garbage collection from walking them again (measured: most of the CPU per request).
        gc.freeze()
        self.state, self.reason = "ready", "ready"
        logger.info("model %r is ready (%s)", self.identity.name, self.identity.local_path)

    def param_names(self) -> frozenset[str]:
        """The names in the model's params schema (they split a chat-style body); 503 before the load."""
        self.loaded()
        return self._param_names

    def takes_whole_inputs(self) -> bool:
        """Custom python models take chat-style bodies whole (MLflow passes them through)."""
        from shipyard.flavors.table import LOADER_MODULES  # NOTE: lazy, as the flavors import pandas

        conf = self.loaded().metadata.flavors.get("python_function") or {}
        return LOADER_MODULES.get(str(conf.get("loader_module"))) == "python_function"

    def prepare_request(self, parsed: ScoringRequest) -> tuple[Any, int, Any]:
        """A parsed `/invocations` body as `prepare` takes it: for a model without an input
        schema, in the form MLflow would hand it over; a chat-style body only goes to a python
        model."""
        pyfunc = self.loaded()
        if parsed.whole and not self.takes_whole_inputs():
            raise SchemaEnforcementError(
                f"a chat-style body (top-level {', '.join(repr(k) for k in CHAT_KEYS)}) is only taken by "
                f"custom python models; model {self.identity.name!r} is not one: send one of "
                "'dataframe_split', 'dataframe_records', 'instances' or 'inputs'"
            )
        if pyfunc.input_schema is None:
            data = unschematized_input(parsed)
        else:
            data = as_frame(parsed) if self._frames else parsed.data
        return self.prepare(data, parsed.params, whole=parsed.whole)

    def prepare(self, data: Any, params: dict[str, Any] | None, *, whole: bool = False) -> tuple[Any, int, Any]:
        """Validate one request against the signature; the caller's mistakes become 400s.
        A `whole` input (a chat-style body) counts as one row and is never split."""
        pyfunc = self.loaded()
        try:
            prepared = pyfunc.prepare_input(data)
            params = pyfunc.enforce_params(params)
        except ShipyardError:
            raise
        except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
            raise SchemaEnforcementError(f"the input does not match the model: {exc}") from None
        if whole:
            return prepared, 1, params
        try:
            rows = count_rows(prepared)
        except ShipyardError as exc:
            raise SchemaEnforcementError(exc.message) from None
        return prepared, rows, params

    async def close(self) -> None:
        if self.batcher is not None:
            await self.batcher.close()


__all__ = ["ModelIdentity", "ServedModel", "resolve_model"]
