"""The experiments list and one experiment's runs table: search (the filter language), sort and
pagination all done by the store, one page at a time, so 10,000 runs cost what 100 do.

Paging uses the store's keyset tokens; "Previous" works because the page keeps the tokens that
led to it (`back`), capped so the URL stays short.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from shipyard.exceptions import InvalidInput
from shipyard.server.context import context_of
from shipyard.server.ui_base import Form, page
from shipyard.tracking.entities import Run, ViewType

PAGE_SIZES = (25, 50, 100, 250, 500)
DEFAULT_PAGE_SIZE = 100
DEFAULT_ORDER = "attributes.start_time DESC"
DEFAULT_COLUMNS = 12
BACK_TOKENS = 30
"""Most previous-page tokens a page link carries (older pages are reached from the first)."""
_ORDER = re.compile(r"^(attributes|params|metrics|tags)\.`([^`]+)` (ASC|DESC)$")
ATTRIBUTE_COLUMNS = {"start_time": "Started", "run_name": "Run", "status": "Status", "user_id": "User"}
VIEWS = {"active": ViewType.ACTIVE_ONLY, "deleted": ViewType.DELETED_ONLY, "all": ViewType.ALL}


def experiments(request: Request) -> Response:
    ctx = context_of(request)
    view = request.query_params.get("view", "active")
    if view not in VIEWS:
        raise InvalidInput(f"view {view!r} is not one of {', '.join(VIEWS)}")
    found = ctx.tracking.search_experiments(VIEWS[view], 50_000, None, ["name ASC"])
    return page(request, "experiments.html", title="Experiments", experiments=found, view=view)


def create_experiment(request: Request, form: Form) -> tuple[str, str]:
    ctx = context_of(request)
    name = form.required("name", "experiment name")
    experiment_id = ctx.tracking.create_experiment(name)
    return f"/ui/experiments/{experiment_id}", f"experiment {name!r} created"


def rename_experiment(request: Request, form: Form) -> tuple[str, str]:
    experiment_id = request.path_params["experiment_id"]
    name = form.required("name", "new experiment name")
    context_of(request).tracking.rename_experiment(experiment_id, name)
    return f"/ui/experiments/{experiment_id}", f"experiment renamed to {name!r}"


def delete_experiment(request: Request, form: Form) -> tuple[str, str]:
    experiment_id = request.path_params["experiment_id"]
    context_of(request).tracking.delete_experiment(experiment_id)
    return "/?view=deleted", f"experiment {experiment_id} deleted (restore it here)"


def restore_experiment(request: Request, form: Form) -> tuple[str, str]:
    experiment_id = request.path_params["experiment_id"]
    context_of(request).tracking.restore_experiment(experiment_id)
    return f"/ui/experiments/{experiment_id}", f"experiment {experiment_id} restored"


def _for_selected_runs(request: Request, form: Form, verb: str) -> tuple[str, str]:
    """Delete or restore every run ticked in the runs table."""
    tracking = context_of(request).tracking
    change = tracking.delete_run if verb == "deleted" else tracking.restore_run
    run_ids = form.all("runs")
    if not run_ids:
        raise InvalidInput("select at least one run (the checkboxes of the runs table)")
    for run_id in run_ids:
        change(run_id)
    return f"/ui/experiments/{request.path_params['experiment_id']}", f"{len(run_ids)} run(s) {verb}"


def delete_runs(request: Request, form: Form) -> tuple[str, str]:
    return _for_selected_runs(request, form, "deleted")


def restore_runs(request: Request, form: Form) -> tuple[str, str]:
    return _for_selected_runs(request, form, "restored")


def order_of(text: str) -> tuple[str, str, str]:
    """(kind, key, direction) of an `order` query value such as ``metrics.`loss` ASC``."""
    if not text:
        text = DEFAULT_ORDER.replace("start_time", "`start_time`")
    found = _ORDER.match(text)
    if not found:
        raise InvalidInput(f"order {text!r} must look like metrics.`loss` ASC (attributes, params, metrics or tags)")
    return found.group(1), found.group(2), found.group(3)


def _page_size(text: str | None) -> int:
    if not text:
        return DEFAULT_PAGE_SIZE
    if not text.isdigit() or int(text) not in PAGE_SIZES:
        raise InvalidInput(f"size {text!r} must be one of {', '.join(map(str, PAGE_SIZES))}")
    return int(text)


def _columns(runs: list[Run], chosen: list[str]) -> tuple[list[str], list[str]]:
    """(available, shown) column names (`params.x`, `metrics.y`) for this page's runs."""
    params = sorted({k for r in runs for k in r.data.params})
    metrics = sorted({k for r in runs for k in r.data.metrics})
    available = [f"params.{k}" for k in params] + [f"metrics.{k}" for k in metrics]
    shown = [c for c in chosen if c.startswith(("params.", "metrics."))] if chosen else available[:DEFAULT_COLUMNS]
    return available, shown


def experiment(request: Request) -> Response:
    ctx = context_of(request)
    query = request.query_params
    found = ctx.tracking.get_experiment(request.path_params["experiment_id"])
    filter_string = query.get("filter", "")
    view = query.get("view", "active")
    if view not in VIEWS:
        raise InvalidInput(f"view {view!r} is not one of {', '.join(VIEWS)}")
    kind, key, direction = order_of(query.get("order", ""))
    size = _page_size(query.get("size"))
    token = query.get("page_token") or None
    back = [t for t in query.get("back", "").split(",") if t][-BACK_TOKENS:]
    runs: list[Run] = []
    next_token, search_error = None, None
    try:
        result = ctx.tracking.search_runs(
            [found.experiment_id], filter_string, VIEWS[view], size, [f"{kind}.`{key}` {direction}"], token
        )
        runs, next_token = list(result), result.token
    except InvalidInput as error:
        search_error = error.message
    available, shown = _columns(runs, query.getlist("columns"))
    state: dict[str, Any] = {"filter": filter_string, "view": view, "size": size, "columns": shown}
    state["order"] = f"{kind}.`{key}` {direction}"

    def link(**changes: Any) -> str:
        """This page's URL with `changes` to its state (None drops a field)."""
        merged = {**state, **changes}
        return "?" + urlencode({k: v for k, v in merged.items() if v not in (None, "", [])}, doseq=True)

    return page(
        request,
        "runs.html",
        title=found.name,
        experiment=found,
        runs=runs,
        available=available,
        shown=shown,
        state=state,
        sort={"kind": kind, "key": key, "direction": direction},
        page_number=len(back) + 2 if token else 1,
        token=token or "",
        back=back,
        next_token=next_token,
        search_error=search_error,
        page_sizes=PAGE_SIZES,
        attributes=ATTRIBUTE_COLUMNS,
        link=link,
    )


__all__ = [
    "create_experiment",
    "delete_experiment",
    "delete_runs",
    "experiment",
    "experiments",
    "order_of",
    "rename_experiment",
    "restore_experiment",
    "restore_runs",
]
