"""The tracking server's app factory: route table, auth, error pages, lifespan."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from shipyard.server import artifact_proxy, routes_logged_models, routes_registry, routes_tracking, ui
from shipyard.server.auth import AuthMiddleware, read_tokens, read_users
from shipyard.server.context import ServerContext
from shipyard.server.protocol import api_endpoint
from shipyard.server.settings import ServerSettings
from shipyard.version import __version__
from shipyard.web import configure_logging, handed_over, http_error, json_response

HANDOFF_ENV = "SHIPYARD_SERVER_HANDOFF"
"""The environment variable that carries the settings to `--workers N` processes."""
STATIC_DIR = Path(__file__).parent / "static"


async def health(request: Request) -> Response:
    return Response("OK", media_type="text/plain")


async def version(request: Request) -> Response:
    """MLflow's server answers its version as plain text (its client parses it); JSON when asked."""
    if "application/json" in request.headers.get("accept", ""):
        return json_response({"name": "shipyard", "component": "tracking-server", "version": __version__})
    return PlainTextResponse(__version__)


def api_routes(limit: int) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    tables = (
        (routes_tracking.PREFIX, routes_tracking.ROUTES),
        (routes_tracking.PREFIX, routes_logged_models.ROUTES),
        (routes_tracking.PREFIX, routes_registry.ROUTES),
        (routes_registry.SHIPYARD_PREFIX, routes_registry.SHIPYARD_ROUTES),
    )
    for prefix, table in tables:
        for path, method, handler in table:
            # MLflow's clients also call the same routes under /ajax-api/ (its UI's prefix).
            for base in (prefix, prefix.replace("/api/", "/ajax-api/", 1)):
                routes.append(Route(base + path, api_endpoint(handler, limit), methods=[method]))
    proxy = artifact_proxy.PREFIX
    routes += [
        Route(proxy, artifact_proxy.download_or_list, methods=["GET"]),
        Route(proxy + "/{path:path}", artifact_proxy.download_or_list, methods=["GET"]),
        Route(proxy + "/{path:path}", artifact_proxy.upload, methods=["PUT"]),
        Route(proxy + "/{path:path}", artifact_proxy.delete, methods=["DELETE"]),
    ]
    return routes


def create_app(settings: ServerSettings, context: ServerContext | None = None) -> Starlette:
    """The ASGI app; opens (and migrates) the stores unless a context is given."""
    middleware: list[Middleware] = []
    prefix = settings.static_prefix
    if settings.auth_token_file is not None:
        middleware.append(Middleware(AuthMiddleware, tokens=read_tokens(settings.auth_token_file), prefix=prefix))
    elif settings.basic_auth_file is not None:
        middleware.append(Middleware(AuthMiddleware, users=read_users(settings.basic_auth_file), prefix=prefix))
    routes: list[BaseRoute] = [Route("/health", health, methods=["GET"]), Route("/version", version, methods=["GET"])]
    routes += api_routes(settings.max_body_bytes)
    routes += ui.routes()
    routes.append(Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"))
    if prefix:
        # MLflow's --static-prefix: every route (API, UI, health) lives under the prefix; /health
        # also stays at the root, for probes that know nothing of the proxy path.
        routes = [Route("/health", health, methods=["GET"]), Mount(prefix, routes=routes)]
    app = Starlette(routes=routes, middleware=middleware, exception_handlers={HTTPException: http_error})
    app.state.ctx = context or ServerContext.open(settings)
    return app


def app_from_env() -> Starlette:
    """Worker-process edge (`--workers N`): rebuild the settings the parent handed over."""
    settings = ServerSettings.model_validate(handed_over(HANDOFF_ENV)["settings"])
    configure_logging(settings.log_level)
    return create_app(settings)


__all__ = ["HANDOFF_ENV", "app_from_env", "create_app"]
