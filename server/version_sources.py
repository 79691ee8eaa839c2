"""Which server-side folder a `model-versions/create` source names, by MLflow's rules.

MLflow's server accepts `runs:/<run_id>/<path>`, `models:/<name>/<version>`, a logged model
`models:/m-<id>` (or any path under the logged model's folder, with `model_id`), and
`mlflow-artifacts:/`, proxy `http(s)://.../api/2.0/mlflow-artifacts/artifacts/...`, `file:` and
plain paths that lie inside the artifact folder of the run named by `run_id`. Its refusals are
worded as MLflow words them ("Invalid model version source: ..."), since clients match on them.
NOTE: unlike MLflow, which records whatever `source` says, Shipyard copies the folder into
immutable digest-verified storage, so the folder must exist on this server.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from shipyard.exceptions import InvalidInput, ResourceNotFound
from shipyard.registry.uris import find_version, local_copy, parse_models_uri
from shipyard.server.artifact_uris import PROXY_SCHEME
from shipyard.server.context import INTERNAL_DIR, ServerContext
from shipyard.server.logged_models import check_model_id
from shipyard.tracking import validation
from shipyard.tracking.artifacts import (
    LocalArtifactRepository,
    confined,
    file_uri_to_path,
    get_artifact_repository,
    safe_relative_path,
)
from shipyard.tracking.entities import Run

_PROXY_ROUTE = "/api/2.0/mlflow-artifacts/artifacts/"


def invalid_source(source: str, id_name: str) -> InvalidInput:
    """MLflow's refusal when `run_id` / `model_id` does not name what holds the source."""
    return InvalidInput(
        f"Invalid model version source: '{source}'. The {id_name} request parameter must identify "
        "the resource that contains the source."
    )


def _proxied(source: str) -> str:
    """`http(s)://host/api/2.0/mlflow-artifacts/artifacts/x` -> `mlflow-artifacts:/x`."""
    parts = urlsplit(source)
    if parts.scheme in ("http", "https") and _PROXY_ROUTE in unquote(parts.path):
        return f"{PROXY_SCHEME}:/" + unquote(parts.path).split(_PROXY_ROUTE, 1)[1]
    return source


def _source_run(ctx: ServerContext, run_id: str, source: str) -> Run:
    try:
        return ctx.tracking.get_run(validation.check_run_id(run_id))
    except (ResourceNotFound, InvalidInput):
        raise invalid_source(source, "run_id") from None


def _inside(ctx: ServerContext, source: str, folder_uri: str, id_name: str) -> Path:
    """The server path `source` names, which must lie inside `folder_uri` (a run's or logged model's)."""
    path = ctx.uris.local_path(_proxied(source), what="source")
    if not folder_uri.startswith("file:"):
        raise invalid_source(source, id_name)
    folder = file_uri_to_path(folder_uri).resolve()
    resolved = path.resolve()
    if resolved != folder and folder not in resolved.parents:
        raise invalid_source(source, id_name)
    return path


def _logged_model_source(ctx: ServerContext, source: str, model_id: str | None) -> tuple[Path, str | None]:
    named = source[len("models:/") :].strip("/") if source.startswith("models:/m-") else None
    if model_id and named and named != model_id:
        raise invalid_source(source, "model_id")
    wanted = check_model_id(model_id or named or "")
    try:
        logged = ctx.logged_models.get(wanted)
    except ResourceNotFound:
        raise invalid_source(source, "model_id") from None
    location = str(logged["artifact_location"])
    if named:
        directory = ctx.uris.local_path(ctx.uris.to_client(location) or "", what="source")
    else:
        directory = _inside(ctx, source, location, "model_id")
    return directory, logged.get("source_run_id")


def _runs_source(ctx: ServerContext, source: str, run_id: str | None) -> tuple[Path, str]:
    source_run_id, _, path = source[len("runs:/") :].lstrip("/").partition("/")
    if run_id and run_id != source_run_id:
        raise invalid_source(source, "run_id")
    repo = get_artifact_repository(_source_run(ctx, source_run_id, source).info.artifact_uri)
    if not isinstance(repo, LocalArtifactRepository):
        raise InvalidInput(f"source {source!r}: run {source_run_id} keeps its artifacts outside this server")
    return confined(repo.root, safe_relative_path(path, what="source")), source_run_id


def source_directory(
    ctx: ServerContext, source: str, run_id: str | None, model_id: str | None
) -> tuple[Path, str | None]:
    """The model folder on this server that `source` names, and the run it came from."""
    if model_id or source.startswith("models:/m-"):
        return _logged_model_source(ctx, source, model_id)
    if source.startswith("runs:/"):
        return _runs_source(ctx, source, run_id)
    if source.startswith("models:/"):
        mv = find_version(ctx.registry, parse_models_uri(source), source)
        return local_copy(mv, settings=ctx.settings.base), mv.run_id
    if run_id:
        return _inside(ctx, source, _source_run(ctx, run_id, source).info.artifact_uri, "run_id"), run_id
    if source.startswith(f"{PROXY_SCHEME}:") or _proxied(source) != source:
        # Shipyard's leniency: MLflow wants a run_id here. The server's own folder stays out of reach.
        if ctx.uris.relative_of(_proxied(source), what="source").split("/", 1)[0] == INTERNAL_DIR:
            raise InvalidInput(f"source {source!r} is in the server's own folder, which holds no models")
        return ctx.uris.local_path(_proxied(source), what="source"), None
    raise InvalidInput(
        f"Invalid model version source: '{source}'. To use a local path as a model version source, "
        "the run_id request parameter has to be specified and the local path has to be contained "
        "within the artifact directory of the run specified by the run_id. (Or give runs:/<run_id>/<path>, "
        "models:/<name>/<version> or a logged model models:/m-<id>; a folder on the client must be logged "
        "to a run first.)"
    )


__all__ = ["invalid_source", "source_directory"]
