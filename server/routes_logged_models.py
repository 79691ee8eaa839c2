"""`/api/2.0/mlflow/logged-models`: what MLflow 3's `log_model` calls before and after uploading."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from shipyard.server.context import ServerContext, context_of
from shipyard.server.logged_model_search import SEARCH_LOGGED_MODELS_DEFAULT, search_page
from shipyard.server.logged_models import STATUSES
from shipyard.server.protocol import SEARCH_MAX, Fields, check_max_results, invalid_value
from shipyard.server.serialize import key_values
from shipyard.tracking import validation


def logged_model_json(ctx: ServerContext, model: dict[str, Any]) -> dict[str, Any]:
    info = {
        "model_id": model["model_id"],
        "experiment_id": model["experiment_id"],
        "name": model["name"],
        "artifact_uri": ctx.uris.to_client(model["artifact_location"]),
        "creation_timestamp_ms": model["creation_timestamp_ms"],
        "last_updated_timestamp_ms": model["last_updated_timestamp_ms"],
        "status": model["status"],
        "tags": key_values(model["tags"]),
    }
    for optional in ("model_type", "source_run_id", "status_message"):
        if model.get(optional):
            info[optional] = model[optional]
    return {"info": info, "data": {"params": key_values(model["params"]), "metrics": []}}


def _model_id(request: Request) -> str:
    return str(request.path_params["model_id"])


def create_logged_model(fields: Fields, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    experiment = ctx.tracking.get_experiment(fields.str("experiment_id", required=True))
    source_run_id = fields.str("source_run_id")
    if source_run_id is not None:
        ctx.tracking.get_run(validation.check_run_id(source_run_id))
    model = ctx.logged_models.create(
        experiment_id=experiment.experiment_id,
        artifact_location=experiment.artifact_location,
        name=fields.str("name"),
        source_run_id=source_run_id,
        model_type=fields.str("model_type"),
        tags=dict(fields.key_values("tags")),
        params=dict(fields.key_values("params")),
    )
    return {"model": logged_model_json(ctx, model)}


def get_logged_model(fields: Fields, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    return {"model": logged_model_json(ctx, ctx.logged_models.get(_model_id(request)))}


def finalize_logged_model(fields: Fields, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    status = fields.str("status", "LOGGED_MODEL_READY")
    if status.isdigit() and int(status) < len(STATUSES):
        status = STATUSES[int(status)]
    model = ctx.logged_models.update(_model_id(request), status=status)
    return {"model": logged_model_json(ctx, model)}


def set_logged_model_tags(fields: Fields, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    ctx.logged_models.update(_model_id(request), tags=dict(fields.key_values("tags")))
    return {}


def delete_logged_model_tag(fields: Fields, request: Request) -> dict[str, Any]:
    context_of(request).logged_models.delete_tag(_model_id(request), str(request.path_params["tag_key"]))
    return {}


def log_logged_model_params(fields: Fields, request: Request) -> dict[str, Any]:
    context_of(request).logged_models.update(_model_id(request), params=dict(fields.key_values("params")))
    return {}


def delete_logged_model(fields: Fields, request: Request) -> dict[str, Any]:
    context_of(request).logged_models.delete(_model_id(request))
    return {}


def search_logged_models(fields: Fields, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    if fields.list("order_by"):
        raise invalid_value(
            "order_by",
            fields.list("order_by"),
            "this server orders logged models only by creation time (newest first), then model id",
        )
    experiment_ids = fields.str_list("experiment_ids")
    size = check_max_results(fields.int("max_results", SEARCH_LOGGED_MODELS_DEFAULT), SEARCH_MAX)
    page, token = search_page(
        ctx.logged_models.search(experiment_ids), experiment_ids, fields.str("filter"), size, fields.str("page_token")
    )
    return {"models": [logged_model_json(ctx, m) for m in page], **({"next_page_token": token} if token else {})}


ROUTES: list[tuple[str, str, Any]] = [
    ("/logged-models", "POST", create_logged_model),
    ("/logged-models/search", "POST", search_logged_models),
    ("/logged-models/{model_id}", "GET", get_logged_model),
    ("/logged-models/{model_id}", "PATCH", finalize_logged_model),
    ("/logged-models/{model_id}", "DELETE", delete_logged_model),
    ("/logged-models/{model_id}/tags", "PATCH", set_logged_model_tags),
    ("/logged-models/{model_id}/tags/{tag_key:path}", "DELETE", delete_logged_model_tag),
    ("/logged-models/{model_id}/params", "POST", log_logged_model_params),
]
"""(path under /api/2.0/mlflow, method, handler)."""


__all__ = ["ROUTES", "logged_model_json"]
