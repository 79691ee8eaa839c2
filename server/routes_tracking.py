"""`/api/2.0/mlflow/` experiments, runs, metrics and run artifact listings (MLflow's shapes)."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request

from shipyard.exceptions import InvalidInput, ResourceNotFound
from shipyard.server.context import ServerContext, context_of
from shipyard.server.latest_metrics import latest_steps
from shipyard.server.paging import next_page, page_request
from shipyard.server.protocol import SEARCH_MAX, Fields, Page, missing_value, to_float
from shipyard.server.run_io import dataset_input, model_input, model_output
from shipyard.server.serialize import experiment_json, metric_json, run_json
from shipyard.tracking import validation
from shipyard.tracking.artifacts import get_artifact_repository, safe_relative_path
from shipyard.tracking.entities import ExperimentTag, Metric, Param, Run, RunStatus, RunTag, ViewType
from shipyard.tracking.store import SEARCH_MAX_RESULTS_DEFAULT

MAX_METRICS_PER_BATCH = 10_000
MAX_PARAMS_PER_BATCH = 1_000
MAX_TAGS_PER_BATCH = 1_000
_VIEW_TYPES = {
    "ACTIVE_ONLY": ViewType.ACTIVE_ONLY,
    "DELETED_ONLY": ViewType.DELETED_ONLY,
    "ALL": ViewType.ALL,
    "1": ViewType.ACTIVE_ONLY,
    "2": ViewType.DELETED_ONLY,
    "3": ViewType.ALL,
}


def view_type(fields: Fields, name: str) -> int:
    raw = fields.str(name, "ACTIVE_ONLY")
    if raw not in _VIEW_TYPES:
        raise InvalidInput(f"{name} {raw!r} is not one of ACTIVE_ONLY, DELETED_ONLY, ALL")
    return _VIEW_TYPES[raw]


def runs_json(ctx: ServerContext, runs: list[Run]) -> list[dict[str, Any]]:
    steps = latest_steps(ctx.tracking, [r.info.run_id for r in runs])
    return [run_json(r, ctx.uris, steps[r.info.run_id]) for r in runs]


def run_id_of(fields: Fields) -> str:
    run_id = fields.str("run_id") or fields.str("run_uuid")
    if run_id is None:
        raise missing_value("run_id")
    return validation.check_run_id(run_id)


# --- experiments ------------------------------------------------------------------------------
def create_experiment(fields: Fields, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    name = validation.check_experiment_name(fields.str("name", required=True))
    location = fields.str("artifact_location")
    if location is not None:
        location = ctx.uris.to_server(location, what="artifact_location")
    tags = [ExperimentTag(validation.check_key(k, "experiment tag"), v) for k, v in fields.key_values("tags")]
    return {"experiment_id": ctx.tracking.create_experiment(name, location, tags)}


def get_experiment(fields: Fields, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    experiment = ctx.tracking.get_experiment(fields.str("experiment_id", required=True))
    return {"experiment": experiment_json(experiment, ctx.uris)}


def get_experiment_by_name(fields: Fields, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    name = fields.str("experiment_name", required=True)
    experiment = ctx.tracking.get_experiment_by_name(name)
    if experiment is None:
        raise ResourceNotFound(f"Could not find experiment with name '{name}'")
    return {"experiment": experiment_json(experiment, ctx.uris)}


def search_experiments(fields: Fields, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    size, token = page_request(fields, SEARCH_MAX_RESULTS_DEFAULT)
    found = ctx.tracking.search_experiments(
        view_type(fields, "view_type"), size, fields.str("filter"), fields.str_list("order_by"), token
    )
    return {"experiments": [experiment_json(e, ctx.uris) for e in found], **next_page(found)}


def delete_experiment(fields: Fields, request: Request) -> dict[str, Any]:
    context_of(request).tracking.delete_experiment(fields.str("experiment_id", required=True))
    return {}


def restore_experiment(fields: Fields, request: Request) -> dict[str, Any]:
    context_of(request).tracking.restore_experiment(fields.str("experiment_id", required=True))
    return {}


def update_experiment(fields: Fields, request: Request) -> dict[str, Any]:
    new_name = fields.str("new_name")
    if new_name is not None:
        context_of(request).tracking.rename_experiment(fields.str("experiment_id", required=True), new_name)
    return {}


def set_experiment_tag(fields: Fields, request: Request) -> dict[str, Any]:
    key = validation.check_key(fields.str("key", required=True), "experiment tag")
    value = validation.tag_value(key, fields.str("value", ""))
    context_of(request).tracking.set_experiment_tag(
        fields.str("experiment_id", required=True), ExperimentTag(key, value)
    )
    return {}


def delete_experiment_tag(fields: Fields, request: Request) -> dict[str, Any]:
    context_of(request).tracking.delete_experiment_tag(
        fields.str("experiment_id", required=True), fields.str("key", required=True)
    )
    return {}


# --- runs -------------------------------------------------------------------------------------
def create_run(fields: Fields, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    tags = [RunTag(validation.check_key(k, "tag"), validation.tag_value(k, v)) for k, v in fields.key_values("tags")]
    run = ctx.tracking.create_run(
        fields.str("experiment_id", "0"), fields.str("user_id"), fields.int("start_time"), tags, fields.str("run_name")
    )
    return {"run": runs_json(ctx, [run])[0]}


def get_run(fields: Fields, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    return {"run": runs_json(ctx, [ctx.tracking.get_run(run_id_of(fields))])[0]}


def update_run(fields: Fields, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    run_id = run_id_of(fields)
    current = ctx.tracking.get_run(run_id).info
    status = fields.str("status", current.status)
    if status not in RunStatus.ALL:
        raise InvalidInput(f"status {status!r} is not one of {', '.join(RunStatus.ALL)}")
    end_time = fields.int("end_time", current.end_time)
    info = ctx.tracking.update_run_info(run_id, status, end_time, fields.str("run_name"))
    return {"run_info": run_json(ctx.tracking.get_run(info.run_id), ctx.uris)["info"]}


def delete_run(fields: Fields, request: Request) -> dict[str, Any]:
    context_of(request).tracking.delete_run(run_id_of(fields))
    return {}


def restore_run(fields: Fields, request: Request) -> dict[str, Any]:
    context_of(request).tracking.restore_run(run_id_of(fields))
    return {}


def _write(request: Request, run_id: str, metrics: list[Metric], params: list[Param], tags: list[RunTag]) -> None:
    ctx = context_of(request)
    with ctx.write_lock:
        ctx.tracking.log_batch(run_id, metrics, params, tags)


def _metric(item: Any, where: str) -> Metric:
    if not isinstance(item, dict):
        raise InvalidInput(f"{where} must be an object with key, value, timestamp and step")
    # NOTE: in a batch, fields are named by where they are (`metrics[3].step`), so an error says
    # which one; log-metric's own are MLflow's bare names (`step`).
    prefix = f"{where}." if where.startswith("metrics[") else ""
    item_fields = Fields({f"{prefix}{name}": value for name, value in item.items()})
    key = validation.check_key(item_fields.str(f"{prefix}key", required=True))
    return Metric(
        key,
        to_float(item.get("value"), f"{where}.value"),
        item_fields.int(f"{prefix}timestamp", int(time.time() * 1000)),
        item_fields.int(f"{prefix}step", 0),
    )


def log_metric(fields: Fields, request: Request) -> dict[str, Any]:
    metric = _metric(fields.data, "metric")
    _write(request, run_id_of(fields), [metric], [], [])
    return {}


def log_param(fields: Fields, request: Request) -> dict[str, Any]:
    key = validation.check_key(fields.str("key", required=True), "param")
    param = Param(key, validation.param_value(key, fields.str("value", "")))
    _write(request, run_id_of(fields), [], [param], [])
    return {}


def set_tag(fields: Fields, request: Request) -> dict[str, Any]:
    key = validation.check_key(fields.str("key", required=True), "tag")
    tag = RunTag(key, validation.tag_value(key, fields.str("value", "")))
    _write(request, run_id_of(fields), [], [], [tag])
    return {}


def delete_tag(fields: Fields, request: Request) -> dict[str, Any]:
    context_of(request).tracking.delete_tag(run_id_of(fields), fields.str("key", required=True))
    return {}


def log_batch(fields: Fields, request: Request) -> dict[str, Any]:
    raw_metrics = fields.list("metrics")
    params = fields.key_values("params")
    tags = fields.key_values("tags")
    for name, count, limit in (
        ("metrics", len(raw_metrics), MAX_METRICS_PER_BATCH),
        ("params", len(params), MAX_PARAMS_PER_BATCH),
        ("tags", len(tags), MAX_TAGS_PER_BATCH),
    ):
        if count > limit:
            raise InvalidInput(f"{name}: {count} entries in one log-batch; the limit is {limit}")
    # NOTE: MLflow 3's log_model re-sends the run's metrics with a `model_id` to link them to the
    # logged model; Shipyard keeps no such link, and storing them again would duplicate history.
    metrics = [
        _metric(item, f"metrics[{i}]")
        for i, item in enumerate(raw_metrics)
        if not (isinstance(item, dict) and item.get("model_id"))
    ]
    run_id = run_id_of(fields)
    param_list = [Param(validation.check_key(k, "param"), validation.param_value(k, v)) for k, v in params]
    tag_list = [RunTag(validation.check_key(k, "tag"), validation.tag_value(k, v)) for k, v in tags]
    _write(request, run_id, metrics, param_list, tag_list)
    return {}


def search_runs(fields: Fields, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    size, token = page_request(fields, SEARCH_MAX_RESULTS_DEFAULT)
    found = ctx.tracking.search_runs(
        fields.str_list("experiment_ids"),
        fields.str("filter", ""),
        view_type(fields, "run_view_type"),
        size,
        fields.str_list("order_by"),
        token,
    )
    return {"runs": runs_json(ctx, found), **next_page(found)}


def get_metric_history(fields: Fields, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    history = ctx.tracking.get_metric_history(run_id_of(fields), fields.str("metric_key", required=True))
    pg = Page.of(fields, SEARCH_MAX)
    return {"metrics": [metric_json(m) for m in pg.window(history)], **pg.token(history)}


def list_run_artifacts(fields: Fields, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    info = ctx.tracking.get_run(run_id_of(fields)).info
    path = safe_relative_path(fields.str("path"), what="path")
    files = get_artifact_repository(info.artifact_uri, ctx.http).list_artifacts(path or None)
    return {
        "root_uri": ctx.uris.to_client(info.artifact_uri),
        "files": [
            {"path": f.path, "is_dir": f.is_dir, **({"file_size": f.file_size} if f.file_size is not None else {})}
            for f in files
        ],
    }


def log_inputs(fields: Fields, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    datasets = [dataset_input(item, f"datasets[{i}]") for i, item in enumerate(fields.list("datasets"))]
    models = [model_input(item, f"models[{i}]") for i, item in enumerate(fields.list("models"))]
    ctx.tracking.log_inputs(run_id_of(fields), datasets, models)
    return {}


def log_outputs(fields: Fields, request: Request) -> dict[str, Any]:
    ctx = context_of(request)
    models = [model_output(item, f"models[{i}]") for i, item in enumerate(fields.list("models"))]
    ctx.tracking.log_outputs(run_id_of(fields), models)
    return {}


def accept(fields: Fields, request: Request) -> dict[str, Any]:
    """MLflow 2's `runs/log-model` (the `mlflow.log-model.history` tag Shipyard does not keep): 200."""
    run_id_of(fields)
    return {}


PREFIX = "/api/2.0/mlflow"
ROUTES: list[tuple[str, str, Any]] = [
    ("/experiments/create", "POST", create_experiment),
    ("/experiments/get", "GET", get_experiment),
    ("/experiments/get-by-name", "GET", get_experiment_by_name),
    ("/experiments/search", "POST", search_experiments),
    ("/experiments/search", "GET", search_experiments),
    ("/experiments/delete", "POST", delete_experiment),
    ("/experiments/restore", "POST", restore_experiment),
    ("/experiments/update", "POST", update_experiment),
    ("/experiments/set-experiment-tag", "POST", set_experiment_tag),
    ("/experiments/delete-experiment-tag", "POST", delete_experiment_tag),
    ("/runs/create", "POST", create_run),
    ("/runs/get", "GET", get_run),
    ("/runs/update", "POST", update_run),
    ("/runs/delete", "POST", delete_run),
    ("/runs/restore", "POST", restore_run),
    ("/runs/log-metric", "POST", log_metric),
    ("/runs/log-parameter", "POST", log_param),
    ("/runs/set-tag", "POST", set_tag),
    ("/runs/delete-tag", "POST", delete_tag),
    ("/runs/log-batch", "POST", log_batch),
    ("/runs/search", "POST", search_runs),
    ("/runs/outputs", "POST", log_outputs),
    ("/runs/log-inputs", "POST", log_inputs),
    ("/runs/log-model", "POST", accept),
    ("/metrics/get-history", "GET", get_metric_history),
    ("/artifacts/list", "GET", list_run_artifacts),
]
"""(path under PREFIX, method, handler)."""


__all__ = ["PREFIX", "ROUTES"]
