"""Liveness, readiness, identity and metrics endpoints.

`/ping`, `/health` and `/v2/health/ready` answer 200 only once every model is loaded and warmed up,
503 with the reason before that (or when loading failed); `/v2/health/live` answers 200 as soon
as the process serves HTTP.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from shipyard.exceptions import TemporarilyUnavailable
from shipyard.runtime.metrics import ServeMetrics
from shipyard.runtime.model import ServedModel
from shipyard.runtime.state import ServeState, state_of
from shipyard.version import __version__
from shipyard.web import error_response, json_response


def _not_ready(request: Request) -> ServedModel | None:
    """The first model that is not ready (None when all are: the server is ready)."""
    return next((m for m in state_of(request).routed if not m.ready), None)


async def ping(request: Request) -> Response:
    """MLflow's health check: 200 with an empty body when every model is ready."""
    waiting = _not_ready(request)
    if waiting is not None:
        return error_response(TemporarilyUnavailable(waiting.reason))
    return Response(b"\n", media_type="application/json")


async def version(request: Request) -> Response:
    """The version as plain text, as MLflow's scoring server answers (its clients read the body
    as the version); with `Accept: application/json`, Shipyard's identity document."""
    if "application/json" not in request.headers.get("accept", "").lower():
        return PlainTextResponse(__version__)
    state = state_of(request)
    served = state.served
    document: dict[str, object] = {
        "shipyard_version": __version__,
        "model": served.identity.to_dict(),
        "state": served.state,
        "failed_target": None if served.failed is None else served.failed.to_dict(),
    }
    if state.follower is not None:
        document["following"] = state.follower.to_dict()
    if state.traffic:
        document["traffic"] = {name: split.to_dict() for name, split in state.traffic.items()}
    if state.several:
        document["models"] = {name: _identity_document(m, state) for name, m in state.models.items()}
    return json_response(document)


def _identity_document(served: ServedModel, state: ServeState) -> dict[str, object]:
    follower = next((f for f in state.followers if f.served is served), None)
    return {
        "model": served.identity.to_dict(),
        "state": served.state,
        "failed_target": None if served.failed is None else served.failed.to_dict(),
        "following": None if follower is None else follower.to_dict(),
    }


async def metrics(request: Request) -> Response:
    state = state_of(request)
    for served in state.models.values():
        if served is not state.served:
            state.metrics.observe_queue(served.identity.labels(), served.queue_depth())
    return Response(state.metrics.render(state.served.queue_depth()), media_type=ServeMetrics.CONTENT_TYPE)


async def v2_live(request: Request) -> Response:
    return json_response({"live": True})


async def v2_ready(request: Request) -> Response:
    waiting = _not_ready(request)
    if waiting is not None:
        return error_response(TemporarilyUnavailable(waiting.reason))
    return json_response({"ready": True})


__all__ = ["metrics", "ping", "v2_live", "v2_ready", "version"]
