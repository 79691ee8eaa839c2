"""What one serving process holds, built before its app so that nothing is wired up afterwards.

Order of construction: thread pool, metrics, served model (which reports each batch to the
metrics). The app, its front door and its access log are then built around this state.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from shipyard.runtime.metrics import ServeMetrics
from shipyard.runtime.model import ModelIdentity, ServedModel
from shipyard.runtime.settings import ServeSettings
from shipyard.runtime.workers import Workers


@dataclass(frozen=True, slots=True)
class ServeState:
    """The settings, thread pool, metrics and served model of one process."""

    settings: ServeSettings
    workers: Workers
    metrics: ServeMetrics
    served: ServedModel

    @classmethod
    def build(cls, settings: ServeSettings, identity: ModelIdentity) -> ServeState:
        """Nothing is loaded yet: the app's lifespan starts the load."""
        workers = Workers(settings.threads)
        metrics = ServeMetrics(identity.labels())
        served = ServedModel(identity, settings, workers, on_batch=metrics.observe_batch)
        return cls(settings, workers, metrics, served)


def state_of(request: Request) -> ServeState:
    """The state of the app serving `request` (set once, when the app is built)."""
    state: ServeState = request.app.state.serve
    return state


def served_model(request: Request) -> ServedModel:
    return state_of(request).served


__all__ = ["ServeState", "served_model", "state_of"]
