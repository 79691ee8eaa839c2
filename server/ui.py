"""The web UI: server-rendered pages (Jinja2), an inline-SVG chart per metric, a few lines of
vendored JavaScript for sorting and filtering tables. Nothing is fetched from the internet.

Pages read the same stores as the API. The two actions (stage transition, alias) are plain
HTML form posts, accepted only from this server's own pages (Origin/Referer must match Host).
"""

from __future__ import annotations

import datetime as dt
import mimetypes
import posixpath
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from shipyard.exceptions import InvalidInput, PermissionDenied, ResourceNotFound, ShipyardError
from shipyard.registry.entities import STAGES
from shipyard.registry.search import quote_value
from shipyard.server.auth import TOKEN_COOKIE
from shipyard.server.charts import Series, render_chart
from shipyard.server.context import context_of, user_of
from shipyard.tracking.artifacts import LocalArtifactRepository, confined, get_artifact_repository, safe_relative_path
from shipyard.tracking.entities import ViewType

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=jinja2.select_autoescape(default=True),
    undefined=jinja2.StrictUndefined,
)
TEXT_EXTENSIONS = {".txt", ".log", ".json", ".yaml", ".yml", ".md", ".csv", ".py", ".cfg", ".toml", ".ini", ""}
IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".bmp"}
HTML_EXTENSIONS = {".html", ".htm"}
PREVIEW_BYTES = 200_000
MAX_COMPARE = 8


def _fmt_time(ms: int | None) -> str:
    return "" if not ms else dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


TEMPLATES.filters["time"] = _fmt_time
TEMPLATES.filters["q"] = lambda text: quote(str(text), safe="")


def page(template: str, status: int = 200, **values: Any) -> HTMLResponse:
    return HTMLResponse(TEMPLATES.get_template(template).render(**values), status_code=status)


def _error_page(error: ShipyardError) -> HTMLResponse:
    return page("error.html", error.http_status, title="Error", error=error)


def _guarded(view: Any) -> Any:
    """Run a page view; Shipyard errors become an error page with the right status."""

    def endpoint(request: Request) -> Response:
        try:
            response: Response = view(request)
            return response
        except ShipyardError as error:
            return _error_page(error)

    endpoint.__name__ = view.__name__
    return endpoint


# --- experiments and runs ---------------------------------------------------------------------
def experiments(request: Request) -> Response:
    ctx = context_of(request)
    found = ctx.tracking.search_experiments(ViewType.ACTIVE_ONLY, 10_000, None, None)
    return page("experiments.html", title="Experiments", experiments=found)


def experiment(request: Request) -> Response:
    ctx = context_of(request)
    experiment_id = request.path_params["experiment_id"]
    found = ctx.tracking.get_experiment(experiment_id)
    filter_string = request.query_params.get("filter", "")
    try:
        runs = list(
            ctx.tracking.search_runs(
                [found.experiment_id], filter_string, ViewType.ACTIVE_ONLY, 5000, ["start_time DESC"]
            )
        )
        filter_error = None
    except InvalidInput as error:
        runs, filter_error = [], error.message
    param_keys = sorted({k for r in runs for k in r.data.params})
    metric_keys = sorted({k for r in runs for k in r.data.metrics})
    return page(
        "runs.html",
        title=found.name,
        experiment=found,
        runs=runs,
        param_keys=param_keys,
        metric_keys=metric_keys,
        filter=filter_string,
        filter_error=filter_error,
    )


def _artifact_view(request: Request, run_id: str, artifact_uri: str) -> dict[str, Any]:
    """The listing of `?path=` (a folder) or the preview of one file."""
    repo = get_artifact_repository(artifact_uri)
    path = safe_relative_path(request.query_params.get("path"), what="path")
    view: dict[str, Any] = {"path": path, "parent": posixpath.dirname(path), "entries": [], "preview": None}
    if not isinstance(repo, LocalArtifactRepository):
        return view
    target = confined(repo.root, path, what="path")
    if target.is_file():
        view["parent"] = posixpath.dirname(path)
        view["entries"] = repo.list_artifacts(posixpath.dirname(path) or None)
        extension = posixpath.splitext(path)[1].lower()
        raw = f"/ui/runs/{run_id}/artifact?path={quote(path)}"
        if extension in IMAGE_EXTENSIONS:
            view["preview"] = {"kind": "image", "src": raw, "name": path}
        elif extension in HTML_EXTENSIONS:
            view["preview"] = {"kind": "html", "src": raw, "name": path}
        elif extension in TEXT_EXTENSIONS or target.stat().st_size < PREVIEW_BYTES:
            with open(target, "rb") as handle:
                data = handle.read(PREVIEW_BYTES)
            text = data.decode("utf-8", errors="replace")
            view["preview"] = {
                "kind": "text",
                "text": text,
                "name": path,
                "src": raw,
                "truncated": target.stat().st_size > PREVIEW_BYTES,
            }
        else:
            view["preview"] = {"kind": "binary", "src": raw, "name": path}
    else:
        view["entries"] = repo.list_artifacts(path or None)
    return view


def run_page(request: Request) -> Response:
    ctx = context_of(request)
    run = ctx.tracking.get_run(request.path_params["run_id"])
    compare_ids = [i for i in request.query_params.get("compare", "").split(",") if i and i != run.info.run_id]
    others = [ctx.tracking.get_run(i) for i in compare_ids[:MAX_COMPARE]]
    charts = []
    for key in sorted(run.data.metrics):
        series = [
            Series(r.info.run_name or r.info.run_id[:8], ctx.tracking.get_metric_history(r.info.run_id, key))
            for r in [run, *others]
            if key in r.data.metrics
        ]
        charts.append({"key": key, "svg": render_chart(key, series)})
    legend = [(r.info.run_name or r.info.run_id[:8], i) for i, r in enumerate([run, *others])]
    return page(
        "run.html",
        title=run.info.run_name or run.info.run_id,
        run=run,
        others=others,
        charts=charts,
        legend=legend,
        artifacts=_artifact_view(request, run.info.run_id, run.info.artifact_uri),
    )


def run_artifact(request: Request) -> Response:
    """One artifact's bytes for previews; served sandboxed so HTML cannot script this origin."""
    ctx = context_of(request)
    run = ctx.tracking.get_run(request.path_params["run_id"])
    repo = get_artifact_repository(run.info.artifact_uri)
    if not isinstance(repo, LocalArtifactRepository):
        raise ResourceNotFound("this run keeps its artifacts outside the server")
    path = safe_relative_path(request.query_params.get("path"), what="path")
    target = confined(repo.root, path, what="path")
    if not target.is_file():
        raise ResourceNotFound(f"artifact {path!r} does not exist")
    media_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    headers = {"Content-Security-Policy": "sandbox", "X-Content-Type-Options": "nosniff"}
    return FileResponse(target, media_type=media_type, headers=headers)


# --- registry ---------------------------------------------------------------------------------
def models(request: Request) -> Response:
    ctx = context_of(request)
    return page(
        "models.html", title="Registered models", models=ctx.registry.search_registered_models(None, 10_000, None)
    )


def model(request: Request) -> Response:
    ctx = context_of(request)
    name = request.path_params["name"]
    found = ctx.registry.get_registered_model(name)
    versions = ctx.registry.search_model_versions(f"name = '{quote_value(name)}'", 10_000, ["version_number DESC"])
    history = list(reversed(ctx.registry.get_history(name)))
    return page(
        "model.html",
        title=name,
        model=found,
        versions=versions,
        history=history,
        stages=STAGES,
        message=request.query_params.get("message"),
    )


async def _form(request: Request) -> dict[str, str]:
    body = (await request.body())[:65536].decode("utf-8", errors="replace")
    return {key: values[-1] for key, values in parse_qs(body).items()}


def _same_origin(request: Request) -> None:
    """Refuse form posts that another site's page made the browser send."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    host = request.headers.get("host")
    if not origin or not host or urlparse(origin).netloc != host:
        raise PermissionDenied("this action is accepted only from the server's own pages")


async def transition(request: Request) -> Response:
    try:
        _same_origin(request)
        form = await _form(request)
        ctx = context_of(request)
        name, version = request.path_params["name"], request.path_params["version"]
        mv = await run_in_threadpool(
            ctx.registry.transition_model_version_stage,
            name,
            version,
            form.get("stage", ""),
            form.get("archive_existing_versions") == "on",
            user_id=user_of(request, "web-ui"),
        )
        message = f"version {mv.version} is now in {mv.current_stage}"
    except ShipyardError as error:
        return _error_page(error)
    return RedirectResponse(f"/ui/models/{quote(name, safe='')}?message={quote(message)}", status_code=303)


async def set_alias(request: Request) -> Response:
    try:
        _same_origin(request)
        form = await _form(request)
        ctx = context_of(request)
        name = request.path_params["name"]
        alias, version = form.get("alias", "").strip().lstrip("@"), form.get("version", "")
        await run_in_threadpool(
            ctx.registry.set_registered_model_alias, name, alias, version, user_id=user_of(request, "web-ui")
        )
        message = f"@{alias} now points at version {version}"
    except ShipyardError as error:
        return _error_page(error)
    return RedirectResponse(f"/ui/models/{quote(name, safe='')}?message={quote(message)}", status_code=303)


def login_page(request: Request) -> Response:
    return page("login.html", title="Sign in", failed="failed" in request.query_params)


async def login(request: Request) -> Response:
    """Keep the token in a cookie the browser sends only on this site's own requests."""
    try:
        _same_origin(request)
    except ShipyardError as error:
        return _error_page(error)
    token = (await _form(request)).get("token", "").strip()
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict", max_age=7 * 24 * 3600)
    return response


def routes() -> list[BaseRoute]:
    return [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/", _guarded(experiments), methods=["GET"]),
        Route("/ui/experiments/{experiment_id}", _guarded(experiment), methods=["GET"]),
        Route("/ui/runs/{run_id}", _guarded(run_page), methods=["GET"]),
        Route("/ui/runs/{run_id}/artifact", _guarded(run_artifact), methods=["GET"]),
        Route("/ui/models", _guarded(models), methods=["GET"]),
        Route("/ui/models/{name}", _guarded(model), methods=["GET"]),
        Route("/ui/models/{name}/versions/{version}/stage", transition, methods=["POST"]),
        Route("/ui/models/{name}/alias", set_alias, methods=["POST"]),
    ]


__all__ = ["routes"]
