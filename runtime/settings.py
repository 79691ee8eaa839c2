"""Every knob of `shipyard serve`, built once from CLI flags and `SHIPYARD_*` variables.

The defaults are tuned for a small machine (2 cores): one process holding one model copy, an
event loop for HTTP and a couple of threads for predict, and a batcher that merges concurrent
requests instead of waiting for them. The README's "Serving" section says why each default is what
it is.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shipyard.runtime.model_list import ModelEntry
from shipyard.settings import Settings, env


def default_intra_op_threads() -> int:
    """Framework threads per predict call: every core. With spinning off, idle threads cost nothing,
    and batched requests need both cores of a small machine (measured in bench/serve.py: 32-row
    requests on the MLP 1.6x the rows/s of one thread, one-row requests within noise)."""
    return max(1, os.cpu_count() or 1)


def default_threads() -> int:
    """Predict threads: one per core, at most 4 (onnxruntime/torch release the GIL in predict)."""
    return max(1, min(4, os.cpu_count() or 1))


class ServeSettings(BaseSettings):
    """The effective configuration of one `shipyard serve` process (flags win over variables;
    the variables `mlflow models serve` reads, MLFLOW_HOST, MLFLOW_PORT, MLFLOW_MODELS_WORKERS and
    MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT, count after their SHIPYARD_ twins).

    NOTE: `base` is the process's `Settings` (tracking URI, cache, `allow_pickle`), built by the
    CLI and passed in; it is required so that nothing builds a second one by nesting. No field
    here repeats one of `Settings` (both read the `SHIPYARD_` prefix; a test checks)."""

    model_config = SettingsConfigDict(
        env_prefix="SHIPYARD_", extra="ignore", frozen=True, validate_by_name=True, validate_by_alias=True
    )

    base: Settings
    """Where things live and what is allowed, shared with the rest of the process."""

    model_uri: str = ""
    """What to serve: a local directory, file://, models:/name/<version|stage|@alias> or runs:/."""

    models: tuple[ModelEntry, ...] = ()
    """Several models in one server (`-m` repeated, `--models FILE`); empty: `model_uri` alone."""

    follow: bool | None = None
    """Watch the registry and swap to the version a stage, alias or `latest` names when it moves;
    None: on for those URIs, off for the rest (True with a fixed URI is an error)."""

    poll_interval: float = Field(default=5.0, gt=0)
    """Seconds between two looks at the registry when following."""

    name: str | None = None
    """Model name in /version, /v2 and metrics; default: registered name, else directory name."""

    host: str = Field(default="127.0.0.1", validation_alias=env("SHIPYARD_HOST", "MLFLOW_HOST"))
    port: int = Field(default=5000, ge=0, le=65535, validation_alias=env("SHIPYARD_PORT", "MLFLOW_PORT"))

    workers: int = Field(default=1, ge=1, validation_alias=env("SHIPYARD_WORKERS", "MLFLOW_MODELS_WORKERS"))
    """Server processes, each with its own model copy (memory!); 1 keeps batching effective."""

    threads: int = Field(default_factory=default_threads, ge=1)
    """Threads that run predict off the event loop (the pool in runtime/workers.py), and so the
    most predict calls running at once per model (the batcher's `max_concurrency`)."""

    intra_op_threads: int = Field(default_factory=default_intra_op_threads, ge=1)
    """Intra-op threads of the model runtime (onnxruntime with spinning off; torch, process-wide)."""

    max_batch_size: int = Field(default=256, ge=1)
    """Most rows merged into one predict call; a request with more rows runs alone."""

    max_batch_delay_ms: float = Field(default=0.0, ge=0)
    """Extra wait for more rows when others are already queued; 0 = batch what is queued."""

    max_queue: int = Field(default=512, ge=1)
    """Requests waiting for predict; past it the server answers 503 with Retry-After."""

    max_queue_ms: float | None = Field(default=None, gt=0)
    """Longest wait for predict before 503 + Retry-After; None: four batches at the measured batch
    time, at least 500 ms, at most half the timeout (so overload sheds instead of queueing)."""

    timeout: float = Field(
        default=60.0, gt=0, validation_alias=env("SHIPYARD_TIMEOUT", "MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT")
    )
    """Seconds a request may wait for its prediction before it gets 504 and is dropped."""

    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1)
    """Largest request body accepted; larger answers 413."""

    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    access_log: bool = True
    """One structured line per request (method, path, status, duration, request id)."""

    warmup: bool = True
    """Predict once on the saved input example before reporting ready."""

    graceful_timeout: float | None = Field(default=None, gt=0)
    """Seconds to finish in-flight requests after SIGTERM; None waits for all of them."""

    @model_validator(mode="after")
    def _one_way_to_name_models(self) -> ServeSettings:
        if self.models and self.model_uri:
            raise ValueError("give either one model (model_uri) or several (models), not both")
        return self

    def public_dump(self) -> dict[str, Any]:
        """The effective settings for the start-up log line, URL passwords masked."""
        return {**self.model_dump(mode="json"), "base": self.base.public_dump()}


__all__ = ["ServeSettings", "default_intra_op_threads", "default_threads"]
