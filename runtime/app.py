"""The app factory: state first, then Starlette with the route table and the lifespan, then the
front door (the hot path) and, outermost, the access log.

    AccessLog ─► FrontDoor ─► POST /invocations (bare ASGI)
                          └─► Starlette: every other route of `runtime/routes.py`, JSON 404/405

The port opens at once so `/v2/health/live` answers during a long model load; the readiness
endpoints answer 503 with the reason until the model is loaded and warmed up (the lifespan starts
the load in the background).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import TextIO

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from shipyard.runtime.accesslog import AccessLog
from shipyard.runtime.hotpath import FrontDoor
from shipyard.runtime.model import ModelIdentity
from shipyard.runtime.routes import ROUTES
from shipyard.runtime.routing import RouteLabels
from shipyard.runtime.settings import ServeSettings
from shipyard.runtime.state import ServeState
from shipyard.web import guarded, http_error


def create_app(settings: ServeSettings, identity: ModelIdentity) -> ASGIApp:
    """One ASGI app serving one model; loading starts when the server's lifespan starts."""
    return build_app(ServeState.build(settings, identity))


def build_app(state: ServeState, *, log_stream: TextIO | None = None) -> ASGIApp:
    """The ASGI app around an already-built state: the access log wrapping the front door."""
    direct: dict[tuple[str, str], ASGIApp] = {}
    mounted: list[BaseRoute] = []
    for spec in ROUTES:
        if spec.direct is not None:
            handler = direct[(spec.method, spec.path)] = spec.direct(state.served)
            # NOTE: also mounted, so that another method on the path gets Starlette's JSON 405.
            mounted.append(Route(spec.path, handler, methods=[spec.method]))
        elif spec.endpoint is not None:
            mounted.append(Route(spec.path, guarded(spec.endpoint), methods=[spec.method]))
    app = Starlette(routes=mounted, lifespan=_lifespan(state), exception_handlers={HTTPException: http_error})
    app.state.serve = state
    return AccessLog(
        FrontDoor(app, direct),
        state.metrics,
        RouteLabels(spec.path for spec in ROUTES),
        enabled=state.settings.access_log,
        stream=log_stream,
    )


def _lifespan(state: ServeState) -> Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        served = state.served
        loading = asyncio.get_running_loop().create_task(served.load())
        if state.settings.workers > 1:
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
            state.workers.close(wait=True)

    return lifespan


__all__ = ["build_app", "create_app"]
