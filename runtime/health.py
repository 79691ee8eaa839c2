"""Liveness, readiness, identity and metrics endpoints.

`/ping`, `/health` and `/v2/health/ready` answer 200 only once the model is loaded and warmed up,
503 with the reason before that (or when loading failed); `/v2/health/live` answers 200 as soon
as the process serves HTTP.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from shipyard.exceptions import TemporarilyUnavailable
from shipyard.runtime.http import error_response, json_response
from shipyard.runtime.model import ServedModel
from shipyard.runtime.scoring import dumps
from shipyard.version import __version__


def served_model(request: Request) -> ServedModel:
    served: ServedModel = request.app.state.served
    return served


async def ping(request: Request) -> Response:
    """MLflow's health check: 200 with an empty body when ready."""
    served = served_model(request)
    if not served.ready:
        return error_response(TemporarilyUnavailable(served.reason))
    return Response(b"\n", media_type="application/json")


async def version(request: Request) -> Response:
    served = served_model(request)
    body = {"shipyard_version": __version__, "model": served.identity.to_dict(), "state": served.state}
    return json_response(dumps(body))


async def metrics(request: Request) -> Response:
    registry = request.app.state.metrics
    return Response(registry.render(), media_type=registry.CONTENT_TYPE)


async def v2_live(request: Request) -> Response:
    return json_response(b'{"live":true}')


async def v2_ready(request: Request) -> Response:
    served = served_model(request)
    if not served.ready:
        return error_response(TemporarilyUnavailable(served.reason))
    return json_response(b'{"ready":true}')


__all__ = ["metrics", "ping", "served_model", "v2_live", "v2_ready", "version"]
