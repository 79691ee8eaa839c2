"""Liveness, readiness, identity and metrics endpoints.

`/ping`, `/health` and `/v2/health/ready` answer 200 only once the model is loaded and warmed up,
503 with the reason before that (or when loading failed); `/v2/health/live` answers 200 as soon
as the process serves HTTP.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from shipyard.exceptions import TemporarilyUnavailable
from shipyard.runtime.metrics import ServeMetrics
from shipyard.runtime.state import served_model, state_of
from shipyard.version import __version__
from shipyard.web import error_response, json_response


async def ping(request: Request) -> Response:
    """MLflow's health check: 200 with an empty body when ready."""
    served = served_model(request)
    if not served.ready:
        return error_response(TemporarilyUnavailable(served.reason))
    return Response(b"\n", media_type="application/json")


async def version(request: Request) -> Response:
    """The version as plain text, as MLflow's scoring server answers (its clients read the body
    as the version); with `Accept: application/json`, Shipyard's identity document."""
    if "application/json" not in request.headers.get("accept", "").lower():
        return PlainTextResponse(__version__)
    served = served_model(request)
    return json_response({"shipyard_version": __version__, "model": served.identity.to_dict(), "state": served.state})


async def metrics(request: Request) -> Response:
    state = state_of(request)
    return Response(state.metrics.render(state.served.queue_depth()), media_type=ServeMetrics.CONTENT_TYPE)


async def v2_live(request: Request) -> Response:
    return json_response({"live": True})


async def v2_ready(request: Request) -> Response:
    served = served_model(request)
    if not served.ready:
        return error_response(TemporarilyUnavailable(served.reason))
    return json_response({"ready": True})


__all__ = ["metrics", "ping", "v2_live", "v2_ready", "version"]
