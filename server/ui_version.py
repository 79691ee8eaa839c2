"""A model version's page: stage and aliases, digest and status, the source run and its metrics,
the signature as tables, the input example, the requirements, ready-to-copy commands, the
version's history, and who serves it (the live deployment records that list this version); its
description and tags editable, delete behind a confirmation.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from shipyard.exceptions import InvalidInput, ResourceNotFound, ShipyardError
from shipyard.flavors import MLMODEL_FILE_NAME, Model, ParamSchema, Schema
from shipyard.registry.entities import STAGES, ModelVersion
from shipyard.registry.registration import release_storage
from shipyard.server.context import context_of
from shipyard.server.ui_base import Form, page, quoted
from shipyard.tracking.artifacts import file_uri_to_path
from shipyard.tracking.entities import Run

EXAMPLE_BYTES = 20_000
SERVING_EXAMPLE = "serving_input_example.json"


def _schema_rows(schema: Schema | None) -> list[dict[str, Any]]:
    rows = []
    for item in schema.to_dict() if schema is not None else []:
        tensor = item.get("tensor-spec")
        kind = f"{tensor['dtype']} {tuple(tensor['shape'])}" if tensor else str(item.get("type"))
        rows.append({"name": item.get("name") or "", "type": kind, "required": item.get("required", True)})
    return rows


def _param_rows(params: ParamSchema | None) -> list[dict[str, Any]]:
    return [
        {"name": p["name"], "type": p["type"], "default": json.dumps(p["default"]), "shape": p.get("shape")}
        for p in (params.to_dict() if params is not None else [])
    ]


def _read(path: Path) -> str | None:
    if not path.is_file():
        return None
    with open(path, "rb") as handle:
        return handle.read(EXAMPLE_BYTES).decode("utf-8", errors="replace")


def model_files(mv: ModelVersion) -> dict[str, Any]:
    """What the stored copy says: signature tables, input example, requirements, request body."""
    found: dict[str, Any] = {"inputs": [], "outputs": [], "params": [], "example": None, "requirements": None}
    found["flavors"], found["body"], found["error"] = [], None, None
    if not mv.storage_location or not mv.storage_location.startswith("file:"):
        return found
    directory = file_uri_to_path(mv.storage_location)
    try:
        model = Model.load(directory / MLMODEL_FILE_NAME)
    except ShipyardError as error:
        found["error"] = error.message
        return found
    found["flavors"] = sorted(model.flavors)
    found["inputs"] = _schema_rows(model.get_input_schema())
    found["outputs"] = _schema_rows(model.get_output_schema())
    found["params"] = _param_rows(model.get_params_schema())
    found["requirements"] = _read(directory / "requirements.txt")
    info = model.saved_input_example_info or {}
    if info.get("artifact_path"):
        found["example"] = _read(directory / str(info["artifact_path"]))
    found["body"] = _compact(_read(directory / SERVING_EXAMPLE)) or _request_body(found["example"], info.get("type"))
    return found


def _compact(text: str | None) -> str | None:
    """JSON on one line (a saved serving example is indented), so the `curl` line stays short."""
    if text is None:
        return None
    try:
        return json.dumps(json.loads(text), separators=(",", ":"))
    except ValueError:
        return text


def _request_body(example: str | None, kind: Any) -> str:
    """A `/invocations` body from the saved example (MLflow's `dataframe_split` / `inputs`)."""
    if example is None:
        return '{"dataframe_split": {"columns": [...], "data": [[...]]}}'
    try:
        raw = json.loads(example)
    except ValueError:
        return '{"dataframe_split": {"columns": [...], "data": [[...]]}}'
    wrapped = {"dataframe_split": raw} if kind == "dataframe" else {"inputs": raw}
    return json.dumps(wrapped, separators=(",", ":"))


def _source_run(request: Request, mv: ModelVersion) -> Run | None:
    if not mv.run_id:
        return None
    try:
        return context_of(request).tracking.get_run(mv.run_id)
    except (ResourceNotFound, InvalidInput):
        return None


def commands(mv: ModelVersion, body: str | None) -> dict[str, str]:
    uri = shlex.quote(f"models:/{mv.name}/{mv.version}")
    image = shlex.quote(f"{mv.name.lower().replace(' ', '-')}:{mv.version}")
    return {
        "serve": f"shipyard serve -m {uri} -p 5001",
        "docker": f"shipyard build-docker -m {uri} -n {image}",
        "curl": "curl -X POST http://127.0.0.1:5001/invocations -H 'Content-Type: application/json' "
        f"-d {shlex.quote(body or '{}')}",
    }


def version_page(request: Request) -> Response:
    ctx = context_of(request)
    name, version = request.path_params["name"], request.path_params["version"]
    mv = ctx.registry.get_model_version(name, version)
    files = model_files(mv)
    history = [h for h in reversed(ctx.registry.get_history(name)) if h.version == mv.version]
    return page(
        request,
        "version.html",
        title=f"{name} v{mv.version}",
        mv=mv,
        files=files,
        run=_source_run(request, mv),
        history=history,
        stages=STAGES,
        commands=commands(mv, files["body"]),
        deployments=[d for d in ctx.registry.list_deployments(name) if str(mv.version) in d.versions],
    )


def set_version_description(request: Request, form: Form) -> tuple[str, str]:
    name, version = request.path_params["name"], request.path_params["version"]
    context_of(request).registry.update_model_version(name, version, form.get("description"))
    return f"/ui/models/{quoted(name)}/versions/{version}", "description saved"


def set_version_tag(request: Request, form: Form) -> tuple[str, str]:
    name, version = request.path_params["name"], request.path_params["version"]
    key = form.required("key", "tag name")
    context_of(request).registry.set_model_version_tag(name, version, key, form.get("value"))
    return f"/ui/models/{quoted(name)}/versions/{version}", f"tag {key!r} set"


def delete_version_tag(request: Request, form: Form) -> tuple[str, str]:
    name, version = request.path_params["name"], request.path_params["version"]
    key = form.required("key", "tag name")
    context_of(request).registry.delete_model_version_tag(name, version, key)
    return f"/ui/models/{quoted(name)}/versions/{version}", f"tag {key!r} deleted"


def delete_version(request: Request, form: Form) -> tuple[str, str]:
    ctx = context_of(request)
    name, version = request.path_params["name"], request.path_params["version"]
    if form.get("confirm") != "on":
        raise InvalidInput(f"to delete version {version} of {name!r}, tick the confirmation box")
    release_storage(ctx.registry, [ctx.registry.delete_model_version(name, version)], ctx.http)
    return f"/ui/models/{quoted(name)}", f"version {version} deleted"


__all__ = [
    "commands",
    "delete_version",
    "delete_version_tag",
    "model_files",
    "set_version_description",
    "set_version_tag",
    "version_page",
]
