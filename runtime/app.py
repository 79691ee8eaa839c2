"""The app factory: route table, lifespan (load + warm-up in the background), access log.

The port opens at once so `/v2/health/live` answers during a long model load; the readiness
endpoints answer 503 with the reason until the model is loaded and warmed up.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shipyard.runtime import health, openapi, v2
from shipyard.runtime.accesslog import AccessLog
from shipyard.runtime.hotpath import Invocations
from shipyard.runtime.http import guarded, json_response
from shipyard.runtime.metrics import ServeMetrics
from shipyard.runtime.model import ModelIdentity, ServedModel
from shipyard.runtime.scoring import dumps
from shipyard.runtime.settings import ServeSettings
from shipyard.runtime.workers import Workers

ROUTES: list[tuple[str, Any, list[str]]] = [
    ("/ping", health.ping, ["GET"]),
    ("/health", health.ping, ["GET"]),
    ("/version", health.version, ["GET"]),
    ("/metrics", health.metrics, ["GET"]),
    ("/openapi.json", openapi.openapi, ["GET"]),
    ("/v2", v2.server_metadata, ["GET"]),
    ("/v2/health/live", health.v2_live, ["GET"]),
    ("/v2/health/ready", health.v2_ready, ["GET"]),
    ("/v2/models/{name}", v2.model_metadata, ["GET"]),
    ("/v2/models/{name}/ready", v2.model_ready, ["GET"]),
    ("/v2/models/{name}/infer", v2.infer, ["POST"]),
    ("/v2/models/{name}/versions/{version}", v2.model_metadata, ["GET"]),
    ("/v2/models/{name}/versions/{version}/ready", v2.model_ready, ["GET"]),
    ("/v2/models/{name}/versions/{version}/infer", v2.infer, ["POST"]),
]


def create_app(settings: ServeSettings, identity: ModelIdentity) -> AccessLog:
    """One ASGI app serving one model; loading starts when the server's lifespan starts."""
    workers = Workers(settings.threads)
    served_ref: dict[str, ServedModel] = {}

    def queue_depth() -> float:
        batcher = served_ref["served"].batcher
        return float(batcher.queue_depth) if batcher is not None else 0.0

    metrics = ServeMetrics(identity.labels(), queue_depth)
    served = ServedModel(identity, settings, workers, on_batch=metrics.observe_batch)
    served_ref["served"] = served

    front: dict[str, AccessLog] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        loading = asyncio.get_running_loop().create_task(served.load())
        if settings.workers > 1:
            # NOTE: N worker processes share one listening socket, so a worker still loading would
            # take requests while another already answers /health with 200. Loading before the
            # lifespan yields keeps each worker off the socket until its own model is ready.
            await asyncio.shield(loading)
        try:
            yield
        finally:
            if not loading.done():
                loading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loading
            await served.close()
            workers.close(wait=True)
            front["log"].flush()

    invocations = Invocations(served)
    routes = [Route("/invocations", invocations, methods=["POST"])]
    routes += [Route(path, guarded(endpoint), methods=methods) for path, endpoint, methods in ROUTES]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={404: _http_error, 405: _http_error})
    app.state.served = served
    app.state.metrics = metrics
    # NOTE: the hot path is dispatched before Starlette; the route above serves OpenAPI and 405s.
    front["log"] = AccessLog(app, metrics, enabled=settings.access_log, direct={("POST", "/invocations"): invocations})
    return front["log"]


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and wrong methods answer JSON like every other error."""
    status = int(getattr(exc, "status_code", 404))
    code = "ENDPOINT_NOT_FOUND" if status == 404 else "BAD_REQUEST"
    message = f"{request.method} {request.url.path}: " + str(getattr(exc, "detail", "not found"))
    return json_response(dumps({"error_code": code, "message": message}), status)


__all__ = ["ROUTES", "create_app"]
