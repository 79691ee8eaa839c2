"""A run's page: metrics (uPlot charts of downsampled histories), params, editable tags and
description, parent and child runs, and the artifact browser, which marks model directories and
registers one as a new version.
"""

from __future__ import annotations

import mimetypes
import posixpath
from typing import Any

import orjson
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from shipyard.exceptions import InvalidInput, ResourceNotFound
from shipyard.flavors import MLMODEL_FILE_NAME
from shipyard.registry.registration import register_version
from shipyard.server.charts import Series, chart_data
from shipyard.server.context import context_of, user_of
from shipyard.server.ui_base import Form, quoted
from shipyard.server.ui_base import page as render
from shipyard.server.version_sources import source_directory
from shipyard.tracking.artifacts import LocalArtifactRepository, confined, get_artifact_repository, safe_relative_path
from shipyard.tracking.entities import Run, RunTag, ViewType
from shipyard.tracking.system_tags import NOTE_CONTENT, PARENT_RUN_ID

TEXT_EXTENSIONS = {".txt", ".log", ".json", ".yaml", ".yml", ".md", ".csv", ".py", ".cfg", ".toml", ".ini", ""}
IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".bmp"}
HTML_EXTENSIONS = {".html", ".htm"}
PREVIEW_BYTES = 200_000
MAX_CHILDREN = 500


def run_label(run: Run) -> str:
    return run.info.run_name or run.info.run_id[:8]


def json_script(value: Any) -> Markup:
    """JSON safe inside `<script type="application/json">` (no `</script>` can end it early)."""
    text = orjson.dumps(value).decode().replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)  # noqa: S704 - every character that could leave the script element is escaped


def metric_charts(request: Request, runs: list[Run]) -> list[dict[str, Any]]:
    """One chart per metric key any of `runs` logged, each run's history downsampled."""
    ctx = context_of(request)
    keys = sorted({key for run in runs for key in run.data.metrics})
    return [
        chart_data(
            key,
            [
                Series(run_label(run), ctx.tracking.get_metric_history(run.info.run_id, key))
                for run in runs
                if key in run.data.metrics
            ],
        )
        for key in keys
    ]


def _is_model_dir(repo: LocalArtifactRepository, path: str) -> bool:
    return (confined(repo.root, path, what="path") / MLMODEL_FILE_NAME).is_file()


def _preview(repo: LocalArtifactRepository, run_id: str, path: str, prefix: str) -> dict[str, Any]:
    target = confined(repo.root, path, what="path")
    extension = posixpath.splitext(path)[1].lower()
    raw = f"{prefix}/ui/runs/{run_id}/artifact?path={quoted(path)}"
    if extension in IMAGE_EXTENSIONS:
        return {"kind": "image", "src": raw, "name": path}
    if extension in HTML_EXTENSIONS:
        return {"kind": "html", "src": raw, "name": path}
    size = target.stat().st_size
    if extension in TEXT_EXTENSIONS or size < PREVIEW_BYTES:
        with open(target, "rb") as handle:
            text = handle.read(PREVIEW_BYTES).decode("utf-8", errors="replace")
        return {"kind": "text", "text": text, "name": path, "src": raw, "truncated": size > PREVIEW_BYTES}
    return {"kind": "binary", "src": raw, "name": path}


def artifact_view(request: Request, run: Run) -> dict[str, Any]:
    """The listing of `?path=` (a folder, marked when it is a model directory) or one file's preview."""
    repo = get_artifact_repository(run.info.artifact_uri)
    path = safe_relative_path(request.query_params.get("path"), what="path")
    view: dict[str, Any] = {"path": path, "parent": posixpath.dirname(path), "entries": [], "preview": None}
    view["model_dir"] = None
    if not isinstance(repo, LocalArtifactRepository):
        return view
    target = confined(repo.root, path, what="path")
    folder = posixpath.dirname(path) if target.is_file() else path
    if target.is_file():
        view["preview"] = _preview(repo, run.info.run_id, path, context_of(request).settings.static_prefix)
    elif path and not target.exists():
        raise ResourceNotFound(f"artifact {path!r} does not exist in run {run.info.run_id}")
    entries = repo.list_artifacts(folder or None)
    view["entries"] = [{"info": entry, "model": entry.is_dir and _is_model_dir(repo, entry.path)} for entry in entries]
    if _is_model_dir(repo, folder):
        view["model_dir"] = folder
    return view


def _family(request: Request, run: Run) -> tuple[Run | None, list[Run]]:
    ctx = context_of(request)
    parent = None
    parent_id = run.data.tags.get(PARENT_RUN_ID)
    if parent_id:
        try:
            parent = ctx.tracking.get_run(parent_id)
        except ResourceNotFound:
            parent = None
    children = ctx.tracking.search_runs(
        [run.info.experiment_id],
        f"tags.`{PARENT_RUN_ID}` = '{run.info.run_id}'",
        ViewType.ACTIVE_ONLY,
        MAX_CHILDREN,
        ["attributes.`start_time` ASC"],
    )
    return parent, list(children)


def run_page(request: Request) -> Response:
    ctx = context_of(request)
    run = ctx.tracking.get_run(request.path_params["run_id"])
    parent, children = _family(request, run)
    tags = run.data.tags
    return render(
        request,
        "run.html",
        title=run_label(run),
        run=run,
        charts=json_script(metric_charts(request, [run])),
        metric_keys=sorted(run.data.metrics),
        user_tags={k: v for k, v in tags.items() if not k.startswith("mlflow.")},
        system_tags={k: v for k, v in tags.items() if k.startswith("mlflow.")},
        description=tags.get(NOTE_CONTENT, ""),
        parent=parent,
        children=children,
        artifacts=artifact_view(request, run),
        model_names=[m.name for m in ctx.registry.search_registered_models(None, 1000, ["name ASC"])],
    )


def run_artifact(request: Request) -> Response:
    """One artifact's bytes for previews; served sandboxed so HTML cannot script this origin."""
    run = context_of(request).tracking.get_run(request.path_params["run_id"])
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


def set_run_tag(request: Request, form: Form) -> tuple[str, str]:
    run_id = request.path_params["run_id"]
    key = form.required("key", "tag name")
    context_of(request).tracking.set_tag(run_id, RunTag(key, form.get("value")))
    return f"/ui/runs/{run_id}", f"tag {key!r} set"


def delete_run_tag(request: Request, form: Form) -> tuple[str, str]:
    run_id = request.path_params["run_id"]
    key = form.required("key", "tag name")
    context_of(request).tracking.delete_tag(run_id, key)
    return f"/ui/runs/{run_id}", f"tag {key!r} deleted"


def set_run_description(request: Request, form: Form) -> tuple[str, str]:
    run_id = request.path_params["run_id"]
    context_of(request).tracking.set_tag(run_id, RunTag(NOTE_CONTENT, form.get("description")))
    return f"/ui/runs/{run_id}", "description saved"


def register_from_run(request: Request, form: Form) -> tuple[str, str]:
    """Register the run's model directory `path` under `name`, creating the model when it is new."""
    ctx = context_of(request)
    run = ctx.tracking.get_run(request.path_params["run_id"])
    path = safe_relative_path(form.get("path"), what="path")
    name = form.required("name", "model name")
    source = f"runs:/{run.info.run_id}/{path}"
    directory, _ = source_directory(ctx, source, run.info.run_id, None)
    if not (directory / MLMODEL_FILE_NAME).is_file():
        raise InvalidInput(f"artifact folder {path or '/'!r} of run {run.info.run_id} holds no MLmodel file")
    user = user_of(request, "web-ui")
    try:
        ctx.registry.get_registered_model(name)
    except ResourceNotFound:
        ctx.registry.create_registered_model(name, None, None)
    mv = register_version(
        ctx.registry, name, directory, source=source, run_id=run.info.run_id, user_id=user, http=ctx.http
    )
    return f"/ui/models/{quoted(name)}/versions/{mv.version}", f"registered {name} version {mv.version}"


__all__ = [
    "artifact_view",
    "delete_run_tag",
    "json_script",
    "metric_charts",
    "register_from_run",
    "run_artifact",
    "run_label",
    "run_page",
    "set_run_description",
    "set_run_tag",
]
