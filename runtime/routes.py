"""The route table of `shipyard serve`: every route, written down once.

The app (`runtime/app.py`) mounts it, the front door takes its direct routes, the OpenAPI
document lists it and the access log labels requests with its path templates.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from shipyard.exceptions import ResourceNotFound
from shipyard.runtime import health, v2, v2_repository
from shipyard.runtime.hotpath import Invocations
from shipyard.runtime.openapi import build_openapi
from shipyard.runtime.routing import RouteSpec
from shipyard.runtime.state import served_model, state_of
from shipyard.web import json_response


async def openapi(request: Request) -> Response:
    served = served_model(request)
    return json_response(build_openapi(ROUTES, served.identity.name, served.signature))


def model_invocations_path(name: str) -> str:
    """The fixed path of one served model's scoring route (the front door's direct route)."""
    return f"/models/{name}/invocations"


async def unknown_model(request: Request) -> Response:
    """Reached only for a name no model has: the served names have direct routes."""
    raise ResourceNotFound(
        f"model {request.path_params['name']!r} is not served here; this server serves "
        + ", ".join(repr(name) for name in state_of(request).models)
    )


MODEL = "/v2/models/{name}"
REPOSITORY = "/v2/repository"
VERSION = "/v2/models/{name}/versions/{version}"

ROUTES: tuple[RouteSpec, ...] = (
    RouteSpec("/invocations", "POST", "Score rows (MLflow scoring protocol)", direct=Invocations, protocol="scoring"),
    RouteSpec(
        model_invocations_path("{name}"),
        "POST",
        "Score rows on the model served under {name} (several models per server)",
        unknown_model,
        protocol="scoring",
    ),
    RouteSpec("/ping", "GET", "200 once the model is loaded and warmed up, else 503", health.ping),
    RouteSpec("/health", "GET", "same as /ping", health.ping),
    RouteSpec(
        "/version",
        "GET",
        "Shipyard's version as text; with Accept: application/json, the served model's identity",
        health.version,
    ),
    RouteSpec("/metrics", "GET", "Prometheus metrics", health.metrics),
    RouteSpec("/openapi.json", "GET", "this document", openapi),
    RouteSpec("/v2", "GET", "KServe V2 server metadata", v2.server_metadata),
    RouteSpec("/v2/health/live", "GET", "200 while the process serves HTTP", health.v2_live),
    RouteSpec("/v2/health/ready", "GET", "200 once the model is ready", health.v2_ready),
    RouteSpec(MODEL, "GET", "KServe V2 model metadata", v2.model_metadata),
    RouteSpec(MODEL + "/ready", "GET", "200 once the model is ready", v2.model_ready),
    RouteSpec(
        MODEL + "/infer",
        "POST",
        "KServe V2 inference (JSON tensors or binary tensor extension)",
        v2.infer,
        protocol="v2",
    ),
    RouteSpec(VERSION, "GET", "KServe V2 metadata of one model version", v2.model_metadata),
    RouteSpec(VERSION + "/ready", "GET", "200 once that version is ready", v2.model_ready),
    RouteSpec(VERSION + "/infer", "POST", "KServe V2 inference on one model version", v2.infer, protocol="v2"),
    RouteSpec(REPOSITORY + "/index", "POST", "KServe V2 repository: the models and their states", v2_repository.index),
    RouteSpec(REPOSITORY + "/models/{name}/load", "POST", "KServe V2 repository: load a model", v2_repository.load),
    RouteSpec(REPOSITORY + "/models/{name}/unload", "POST", "KServe V2 repository: unload it", v2_repository.unload),
)
"""(path, method) pairs are unique; a path template names its parameters as Starlette reads them."""


__all__ = ["ROUTES", "model_invocations_path", "openapi", "unknown_model"]
