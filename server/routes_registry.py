"""`/api/2.0/mlflow/` registered models and model versions, plus Shipyard's deployment history.

Registration happens here, server-side: the client names a source (`version_sources` reads it
by MLflow's rules) and the server copies it into immutable, digest-verified version storage
under its artifact root, so clients need no shared filesystem.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from starlette.requests import Request

from shipyard.exceptions import ResourceNotFound
from shipyard.registry.deployments import deployments_json, report_from_dict
from shipyard.registry.registration import register_version, release_storage
from shipyard.registry.store import SEARCH_MODEL_VERSIONS_MAX, SEARCH_REGISTERED_MODELS_MAX
from shipyard.server.context import ServerContext, context_of, user_of
from shipyard.server.paging import next_page, page_request
from shipyard.server.protocol import Fields
from shipyard.server.serialize import model_version_json, registered_model_json
from shipyard.server.version_sources import source_directory
from shipyard.server.version_sources_store import fetch_source, store_source_uri


def _name(fields: Fields) -> str:
    return str(fields.str("name", required=True))


def _version(fields: Fields) -> str:
    return str(fields.str("version", required=True))


def _mv(ctx: ServerContext, mv: Any) -> dict[str, Any]:
    return {"model_version": model_version_json(mv, ctx.uris)}


# --- registered models ------------------------------------------------------------------------
def create_registered_model(fields: Fields, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    model = ctx.registry.create_registered_model(
        _name(fields), dict(fields.key_values("tags")) or None, fields.str("description")
    )
    return {"registered_model": registered_model_json(model, ctx.uris)}


def get_registered_model(fields: Fields, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    return {"registered_model": registered_model_json(ctx.registry.get_registered_model(_name(fields)), ctx.uris)}


def rename_registered_model(fields: Fields, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    model = ctx.registry.rename_registered_model(_name(fields), fields.str("new_name", required=True))
    return {"registered_model": registered_model_json(model, ctx.uris)}


def update_registered_model(fields: Fields, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    model = ctx.registry.update_registered_model(_name(fields), fields.str("description"))
    return {"registered_model": registered_model_json(model, ctx.uris)}


def delete_registered_model(fields: Fields, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    release_storage(ctx.registry, list(ctx.registry.delete_registered_model(_name(fields))), ctx.http)
    return {}


def search_registered_models(fields: Fields, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    size, token = page_request(fields, SEARCH_REGISTERED_MODELS_MAX)
    found = ctx.registry.search_registered_models(fields.str("filter"), size, fields.str_list("order_by"), token)
    return {"registered_models": [registered_model_json(m, ctx.uris) for m in found], **next_page(found)}


def get_latest_versions(fields: Fields, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    versions = ctx.registry.get_latest_versions(_name(fields), fields.str_list("stages") or None)
    return {"model_versions": [model_version_json(mv, ctx.uris) for mv in versions]}


def set_registered_model_tag(fields: Fields, request: Request) -> dict[str, Any]:
    context_of(request).registry.set_registered_model_tag(
        _name(fields), fields.str("key", required=True), fields.str("value", "")
    )
    return {}


def delete_registered_model_tag(fields: Fields, request: Request) -> dict[str, Any]:
    context_of(request).registry.delete_registered_model_tag(_name(fields), fields.str("key", required=True))
    return {}


def set_alias(fields: Fields, request: Request) -> dict[str, Any]:
    context_of(request).registry.set_registered_model_alias(
        _name(fields),
        fields.str("alias", required=True),
        _version(fields),
        user_id=user_of(request, fields.str("user_id")),
    )
    return {}


def delete_alias(fields: Fields, request: Request) -> dict[str, Any]:
    context_of(request).registry.delete_registered_model_alias(
        _name(fields), fields.str("alias", required=True), user_id=user_of(request, fields.str("user_id"))
    )
    return {}


def get_by_alias(fields: Fields, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    return _mv(ctx, ctx.registry.get_model_version_by_alias(_name(fields), fields.str("alias", required=True)))


# --- model versions ---------------------------------------------------------------------------
def create_model_version(fields: Fields, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    name, source = _name(fields), str(fields.str("source", required=True))
    run_id = fields.str("run_id")
    fetched: Path | None = None
    if ctx.store is not None and (not source.startswith("models:/") or source.startswith("models:/m-")):
        uri, source_run = store_source_uri(ctx, source, run_id, fields.str("model_id"))
        directory = fetched = fetch_source(ctx, uri)
    else:
        directory, source_run = source_directory(ctx, source, run_id, fields.str("model_id"))
    try:
        if not directory.is_dir():
            raise ResourceNotFound(f"source {source!r} names no model directory on this server")
        mv = register_version(
            ctx.registry,
            name,
            directory,
            source=source,
            run_id=run_id or source_run,
            tags=dict(fields.key_values("tags")) or None,
            description=fields.str("description"),
            user_id=user_of(request, fields.str("user_id")),
            http=ctx.http,
        )
    finally:
        if fetched is not None:
            shutil.rmtree(fetched.parent, ignore_errors=True)
    return _mv(ctx, mv)


def get_model_version(fields: Fields, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    return _mv(ctx, ctx.registry.get_model_version(_name(fields), _version(fields)))


def update_model_version(fields: Fields, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    return _mv(ctx, ctx.registry.update_model_version(_name(fields), _version(fields), fields.str("description")))


def delete_model_version(fields: Fields, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    release_storage(ctx.registry, [ctx.registry.delete_model_version(_name(fields), _version(fields))], ctx.http)
    return {}


def search_model_versions(fields: Fields, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    size, token = page_request(fields, SEARCH_MODEL_VERSIONS_MAX)
    found = ctx.registry.search_model_versions(fields.str("filter"), size, fields.str_list("order_by"), token)
    return {"model_versions": [model_version_json(mv, ctx.uris) for mv in found], **next_page(found)}


def get_download_uri(fields: Fields, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    mv = ctx.registry.get_model_version(_name(fields), _version(fields))
    return {"artifact_uri": ctx.uris.to_client(mv.storage_location or mv.source)}


def transition_stage(fields: Fields, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    mv = ctx.registry.transition_model_version_stage(
        _name(fields),
        _version(fields),
        fields.str("stage", required=True),
        fields.bool("archive_existing_versions"),
        user_id=user_of(request, fields.str("user_id")),
    )
    return _mv(ctx, mv)


def set_model_version_tag(fields: Fields, request: Request) -> dict[str, Any]:
    context_of(request).registry.set_model_version_tag(
        _name(fields), _version(fields), fields.str("key", required=True), fields.str("value", "")
    )
    return {}


def delete_model_version_tag(fields: Fields, request: Request) -> dict[str, Any]:
    context_of(request).registry.delete_model_version_tag(
        _name(fields), _version(fields), fields.str("key", required=True)
    )
    return {}


# --- Shipyard's additions -----------------------------------------------------------------------
def history(fields: Fields, request: Request) -> dict[str, Any]:
    return {"history": [entry.to_dict() for entry in context_of(request).registry.get_history(_name(fields))]}


def rollback(fields: Fields, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    mv = ctx.registry.rollback(
        _name(fields), fields.str("stage_or_alias", required=True), user_id=user_of(request, fields.str("user_id"))
    )
    return _mv(ctx, mv)


def digest_in_use(fields: Fields, request: Request) -> dict[str, Any]:
    return {"in_use": context_of(request).registry.digest_in_use(fields.str("digest", required=True))}


def report_deployment(fields: Fields, request: Request) -> dict[str, Any]:
    context_of(request).registry.report_deployment(report_from_dict(fields.data))
    return {}


def list_deployments(fields: Fields, request: Request) -> dict[str, Any]:
    return deployments_json(context_of(request).registry.list_deployments(_name(fields)))


def remove_deployment(fields: Fields, request: Request) -> dict[str, Any]:
    context_of(request).registry.remove_deployment(fields.str("server_id", required=True))
    return {}


ROUTES: list[tuple[str, str, Any]] = [
    ("/registered-models/create", "POST", create_registered_model),
    ("/registered-models/get", "GET", get_registered_model),
    ("/registered-models/rename", "POST", rename_registered_model),
    ("/registered-models/update", "PATCH", update_registered_model),
    ("/registered-models/delete", "DELETE", delete_registered_model),
    ("/registered-models/search", "GET", search_registered_models),
    ("/registered-models/get-latest-versions", "POST", get_latest_versions),
    ("/registered-models/get-latest-versions", "GET", get_latest_versions),
    ("/registered-models/set-tag", "POST", set_registered_model_tag),
    ("/registered-models/delete-tag", "DELETE", delete_registered_model_tag),
    ("/registered-models/alias", "POST", set_alias),
    ("/registered-models/alias", "DELETE", delete_alias),
    ("/registered-models/alias", "GET", get_by_alias),
    ("/model-versions/create", "POST", create_model_version),
    ("/model-versions/get", "GET", get_model_version),
    ("/model-versions/update", "PATCH", update_model_version),
    ("/model-versions/delete", "DELETE", delete_model_version),
    ("/model-versions/search", "GET", search_model_versions),
    ("/model-versions/get-download-uri", "GET", get_download_uri),
    ("/model-versions/transition-stage", "POST", transition_stage),
    ("/model-versions/set-tag", "POST", set_model_version_tag),
    ("/model-versions/delete-tag", "DELETE", delete_model_version_tag),
]
"""(path under /api/2.0/mlflow, method, handler)."""

SHIPYARD_PREFIX = "/api/2.0/shipyard"
SHIPYARD_ROUTES: list[tuple[str, str, Any]] = [
    ("/registered-models/history", "GET", history),
    ("/registered-models/rollback", "POST", rollback),
    ("/model-versions/digest-in-use", "GET", digest_in_use),
    ("/registered-models/deployments/report", "POST", report_deployment),
    ("/registered-models/deployments/list", "GET", list_deployments),
    ("/registered-models/deployments/remove", "POST", remove_deployment),
]


__all__ = ["ROUTES", "SHIPYARD_PREFIX", "SHIPYARD_ROUTES"]
