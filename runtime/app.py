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
from pathlib import Path
from typing import TextIO

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from shipyard.runtime.accesslog import AccessLog
from shipyard.runtime.deployment_report import report_while_serving
from shipyard.runtime.follow import Follower
from shipyard.runtime.hotpath import FrontDoor, Invocations
from shipyard.runtime.model import ModelIdentity
from shipyard.runtime.model_set import placements_of
from shipyard.runtime.routes import ROUTES, model_invocations_path
from shipyard.runtime.routing import RouteLabels
from shipyard.runtime.settings import ServeSettings
from shipyard.runtime.state import ServeState
from shipyard.runtime.traffic import SplitInvocations
from shipyard.web import guarded, http_error


def create_app(settings: ServeSettings, *identities: ModelIdentity, metrics_dir: Path | None = None) -> ASGIApp:
    """One ASGI app serving one model (or each of `settings.models`, in their order); loading
    starts when the server's lifespan starts.
    `metrics_dir`: the directory all `--workers N` processes count their metrics into."""
    return build_app(ServeState.build_many(settings, placements_of(settings, identities), metrics_dir=metrics_dir))


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
    for name, served in state.models.items():
        # NOTE: one fixed path per model, so the front door finds it with one dict lookup; an
        # unknown name falls through to the route table's template (a JSON 404 naming the models).
        split = state.traffic.get(name)
        scoring: ASGIApp = Invocations(served) if split is None else SplitInvocations(split)
        direct[("POST", model_invocations_path(name))] = scoring
        if served is state.served:
            direct[("POST", "/invocations")] = scoring
    app = Starlette(routes=mounted, lifespan=_lifespan(state), exception_handlers={HTTPException: http_error})
    app.state.serve = state
    return AccessLog(
        FrontDoor(app, direct),
        state.metrics,
        RouteLabels([*(spec.path for spec in ROUTES), *(model_invocations_path(name) for name in state.models)]),
        enabled=state.settings.access_log,
        stream=log_stream,
    )


def _lifespan(state: ServeState) -> Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        loading = asyncio.get_running_loop().create_task(_load_all(state))
        if state.settings.workers > 1:
            # NOTE: N worker processes share one listening socket, so a worker still loading would
            # take requests while another already answers /health with 200. Loading before the
            # lifespan yields keeps each worker off the socket until its own model is ready.
            await asyncio.shield(loading)
        following = [asyncio.get_running_loop().create_task(_follow_after(loading, f)) for f in state.followers]
        following.append(
            asyncio.get_running_loop().create_task(report_while_serving(state.settings, state.routed, loading))
        )
        try:
            yield
        finally:
            for task in (*following, loading):
                if not task.done():
                    task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            for split in state.traffic.values():
                await split.close()
            for served in state.every or state.models.values():
                await served.close()
            state.workers.close(wait=True)

    return lifespan


async def _load_all(state: ServeState) -> None:
    """One model after another: each load has the predict threads to itself."""
    for served in state.every or state.models.values():
        await served.load()


async def _follow_after(loading: asyncio.Task[None], follower: Follower) -> None:
    """Poll only once the first load finished: a swap never races the first version's load."""
    await asyncio.shield(loading)
    await follower.run()


__all__ = ["build_app", "create_app"]
