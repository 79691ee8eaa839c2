"""The web UI's route table and sign-in. Pages are rendered on the server (Jinja2, one module per
page in `ui_*.py`); the browser adds a little vanilla JavaScript (`static/ui.js`) and the vendored
uPlot for charts. Nothing is fetched from the internet.

Every action is a plain HTML form post, accepted only from this server's own pages (Origin or
Referer must match Host), answered with a redirect to the page it changed and a message.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from shipyard.exceptions import ShipyardError
from shipyard.server import ui_compare, ui_experiments, ui_models, ui_run, ui_version
from shipyard.server.auth import TOKEN_COOKIE
from shipyard.server.ui_base import Action, Form, action, error_page, guarded, page, prefix_of, read_form, same_origin

TOKEN_DAYS = 7


def login_page(request: Request) -> Response:
    return page(request, "login.html", title="Sign in", failed="failed" in request.query_params)


async def login(request: Request) -> Response:
    """Keep the token in a cookie the browser sends only on this site's own requests."""
    try:
        same_origin(request)
        token = Form(await read_form(request)).required("token", "access token")
    except ShipyardError as error:
        return error_page(request, error)
    response = RedirectResponse(f"{prefix_of(request)}/", status_code=303)
    response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict", max_age=TOKEN_DAYS * 24 * 3600, path="/")
    return response


def _get(path: str, view: Callable[[Request], Response]) -> Route:
    return Route(path, guarded(view), methods=["GET"])


def _post(path: str, work: Action) -> Route:
    return Route(path, action(work), methods=["POST"])


MODEL = "/ui/models/{name}"
VERSION = MODEL + "/versions/{version}"
RUN = "/ui/runs/{run_id}"
EXPERIMENT = "/ui/experiments/{experiment_id}"


def routes() -> list[BaseRoute]:
    return [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        _get("/", ui_experiments.experiments),
        _post("/ui/experiments", ui_experiments.create_experiment),
        _get(EXPERIMENT, ui_experiments.experiment),
        _post(EXPERIMENT + "/rename", ui_experiments.rename_experiment),
        _post(EXPERIMENT + "/delete", ui_experiments.delete_experiment),
        _post(EXPERIMENT + "/restore", ui_experiments.restore_experiment),
        _post(EXPERIMENT + "/runs/delete", ui_experiments.delete_runs),
        _post(EXPERIMENT + "/runs/restore", ui_experiments.restore_runs),
        _get("/ui/compare", ui_compare.compare),
        _get(RUN, ui_run.run_page),
        _get(RUN + "/artifact", ui_run.run_artifact),
        _post(RUN + "/tags", ui_run.set_run_tag),
        _post(RUN + "/tags/delete", ui_run.delete_run_tag),
        _post(RUN + "/description", ui_run.set_run_description),
        _post(RUN + "/register", ui_run.register_from_run),
        _get("/ui/models", ui_models.models),
        _post("/ui/models", ui_models.create_model),
        _get(MODEL, ui_models.model),
        _post(MODEL + "/description", ui_models.set_model_description),
        _post(MODEL + "/tags", ui_models.set_model_tag),
        _post(MODEL + "/tags/delete", ui_models.delete_model_tag),
        _post(MODEL + "/delete", ui_models.delete_model),
        _post(MODEL + "/alias", ui_models.set_alias),
        _post(MODEL + "/alias/delete", ui_models.delete_alias),
        _get(VERSION, ui_version.version_page),
        _post(VERSION + "/stage", ui_models.transition),
        _post(VERSION + "/description", ui_version.set_version_description),
        _post(VERSION + "/tags", ui_version.set_version_tag),
        _post(VERSION + "/tags/delete", ui_version.delete_version_tag),
        _post(VERSION + "/delete", ui_version.delete_version),
    ]


__all__ = ["routes"]
