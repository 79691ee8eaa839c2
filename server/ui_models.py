"""Registered models: the list, a model's page (description in Markdown, tags, versions with the
stage and alias controls, history) and its actions. Deleting asks the user to type the name."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from shipyard.exceptions import InvalidInput
from shipyard.registry.entities import STAGES
from shipyard.registry.registration import release_storage
from shipyard.registry.search import quote_value
from shipyard.server.context import context_of, user_of
from shipyard.server.ui_base import Form, page, quoted

MAX_VERSIONS = 10_000


def models(request: Request) -> Response:
    found = context_of(request).registry.search_registered_models(None, 10_000, ["name ASC"])
    return page(request, "models.html", title="Registered models", models=found)


def model(request: Request) -> Response:
    ctx = context_of(request)
    name = request.path_params["name"]
    found = ctx.registry.get_registered_model(name)
    versions = ctx.registry.search_model_versions(
        f"name = '{quote_value(name)}'", MAX_VERSIONS, ["version_number DESC"]
    )
    return page(
        request,
        "model.html",
        title=name,
        model=found,
        versions=versions,
        history=list(reversed(ctx.registry.get_history(name))),
        stages=STAGES,
        deployments=ctx.registry.list_deployments(name),
    )


def _back(request: Request, form: Form) -> str:
    """The model page, or the version page when the form came from one (`from_version`)."""
    name = quoted(request.path_params["name"])
    version = form.get("from_version")
    return f"/ui/models/{name}/versions/{version}" if version.isdigit() else f"/ui/models/{name}"


def create_model(request: Request, form: Form) -> tuple[str, str]:
    name = form.required("name", "model name")
    context_of(request).registry.create_registered_model(name, None, form.get("description") or None)
    return f"/ui/models/{quoted(name)}", f"model {name!r} created"


def set_model_description(request: Request, form: Form) -> tuple[str, str]:
    name = request.path_params["name"]
    context_of(request).registry.update_registered_model(name, form.get("description"))
    return _back(request, form), "description saved"


def set_model_tag(request: Request, form: Form) -> tuple[str, str]:
    key = form.required("key", "tag name")
    context_of(request).registry.set_registered_model_tag(request.path_params["name"], key, form.get("value"))
    return _back(request, form), f"tag {key!r} set"


def delete_model_tag(request: Request, form: Form) -> tuple[str, str]:
    key = form.required("key", "tag name")
    context_of(request).registry.delete_registered_model_tag(request.path_params["name"], key)
    return _back(request, form), f"tag {key!r} deleted"


def delete_model(request: Request, form: Form) -> tuple[str, str]:
    ctx = context_of(request)
    name = request.path_params["name"]
    if form.get("confirm") != name:
        raise InvalidInput(f"to delete model {name!r}, type its name in the confirmation field")
    release_storage(ctx.registry, list(ctx.registry.delete_registered_model(name)), ctx.http)
    return "/ui/models", f"model {name!r} and its versions deleted"


def transition(request: Request, form: Form) -> tuple[str, str]:
    name, version = request.path_params["name"], request.path_params["version"]
    mv = context_of(request).registry.transition_model_version_stage(
        name,
        version,
        form.get("stage"),
        form.get("archive_existing_versions") == "on",
        user_id=user_of(request, "web-ui"),
    )
    return _back(request, form), f"version {mv.version} is now in {mv.current_stage}"


def set_alias(request: Request, form: Form) -> tuple[str, str]:
    name = request.path_params["name"]
    alias, version = form.get("alias").strip().lstrip("@"), form.required("version")
    context_of(request).registry.set_registered_model_alias(name, alias, version, user_id=user_of(request, "web-ui"))
    return _back(request, form), f"@{alias} now points at version {version}"


def delete_alias(request: Request, form: Form) -> tuple[str, str]:
    name = request.path_params["name"]
    alias = form.required("alias").lstrip("@")
    context_of(request).registry.delete_registered_model_alias(name, alias, user_id=user_of(request, "web-ui"))
    return _back(request, form), f"@{alias} removed"


__all__ = [
    "create_model",
    "delete_alias",
    "delete_model",
    "delete_model_tag",
    "model",
    "models",
    "set_alias",
    "set_model_description",
    "set_model_tag",
    "transition",
]
