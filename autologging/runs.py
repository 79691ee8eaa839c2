"""Which run an autologged call records into: the active run, or one it starts and ends itself
(FINISHED, or FAILED when the training raised), as MLflow's autolog does."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shipyard.autologging.options import CommonOptions
from shipyard.tracking import fluent, validation
from shipyard.tracking.async_logging import AsyncWriter
from shipyard.tracking.fluent import ActiveRun

AUTOLOGGING_TAG = "mlflow.autologging"
"""MLflow's tag on runs autolog created, naming the integration."""
TRUNCATED_PARAMS_TAG = "shipyard.autolog.truncated_params"
"""The note on a run whose params autolog cut at the param value limit: the keys, comma-separated."""


@dataclass
class AutologRun:
    """The run of one autologged call; `owned` when autolog started it (and so ends it)."""

    run_id: str
    writer: AsyncWriter
    active: ActiveRun | None

    @property
    def owned(self) -> bool:
        return self.active is not None

    @classmethod
    def begin(cls, integration: str, options: CommonOptions) -> AutologRun | None:
        """The run to log into; None when `exclusive` and the user's own run is active."""
        current = fluent.active_run()
        if current is not None:
            return None if options.exclusive else cls(current.run_id, current.writer, None)
        tags = {AUTOLOGGING_TAG: integration, **options.extra_tags}
        started = fluent.start_run(tags=tags)
        return cls(started.run_id, started.writer, started)

    def child(self, integration: str, options: CommonOptions) -> AutologRun:
        """A nested run under this one (a search's candidates); the caller ends it."""
        tags = {AUTOLOGGING_TAG: integration, **options.extra_tags}
        started = fluent.start_run(nested=True, parent_run_id=self.run_id, tags=tags)
        return AutologRun(started.run_id, started.writer, started)

    def end(self, error: BaseException | None = None) -> None:
        """End an owned run: FAILED (or KILLED) when `error` is the training's exception."""
        if self.active is not None:
            self.active.__exit__(type(error) if error else None, error, error.__traceback__ if error else None)

    # --- logging through the non-blocking writer ------------------------------------------------
    def log_params(self, params: Mapping[str, Any]) -> None:
        """Queue params, each value cut at the param limit; cut keys are noted in a tag."""
        truncated = []
        for key, value in params.items():
            text = str(value)
            if len(text) > validation.MAX_PARAM_VALUE_LENGTH:
                text = text[: validation.MAX_PARAM_VALUE_LENGTH]
                truncated.append(key)
            self.writer.queue_param(self.run_id, validation.check_key(key, "param"), text)
        if truncated:
            self.set_tags({TRUNCATED_PARAMS_TAG: ",".join(truncated)})

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0, timestamp: int | None = None) -> None:
        """Queue metrics; values that are not finite numbers are skipped (a metric of NaN says nothing)."""
        ts = timestamp if timestamp is not None else time.time_ns() // 1_000_000
        for key, value in metrics.items():
            number = validation.metric_value(key, value)
            if math.isfinite(number):
                self.writer.queue_metric(self.run_id, validation.check_key(key), number, ts, step)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        for key, value in tags.items():
            self.writer.queue_tag(self.run_id, validation.check_key(key, "tag"), validation.tag_value(key, value))


__all__ = ["AUTOLOGGING_TAG", "TRUNCATED_PARAMS_TAG", "AutologRun"]
