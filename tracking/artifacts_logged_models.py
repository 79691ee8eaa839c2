"""Where MLflow 3's logged models keep their files, found through the tracking store.

`mlflow.<flavor>.log_model` (MLflow 3) writes a model not under its run's artifacts but under a
"logged model" (`m-<32 hex>`) of the experiment; `models:/m-<id>` names it, and `runs:/<run>/<name>`
reaches it when the run's own artifacts have no `<name>`. A REST store (shipyard server or an
MLflow server) answers through the `logged-models` API. A SQL store has no logged-model table (a
shipyard server keeps those records beside its artifacts), so there the files are found where
MLflow and shipyard server put them: `<experiment artifact location>/models/<model id>/artifacts`.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from typing import TYPE_CHECKING, cast

from shipyard.exceptions import InvalidInput, ResourceNotFound
from shipyard.tracking.artifacts import get_artifact_repository
from shipyard.tracking.entities import Run, ViewType
from shipyard.tracking.paging import every_page
from shipyard.tracking.store import SEARCH_MAX_RESULTS_DEFAULT, AbstractTrackingStore

if TYPE_CHECKING:
    from shipyard.tracking.rest_store import RestTrackingStore

LOGGED_MODEL_ID = re.compile(r"^m-[0-9a-f]{32}$")
"""MLflow's logged model ids: `m-` and a uuid4's 32 hex digits."""

SEARCH_LIMIT = 10_000
"""Logged models of one experiment looked through for a run's model (the newest first)."""


def is_logged_model_id(text: str) -> bool:
    return bool(LOGGED_MODEL_ID.match(text))


def _rest(store: AbstractTrackingStore) -> RestTrackingStore | None:
    """The store as a REST store, or None.
    NOTE: told apart by its `remote` flag, not `isinstance`: importing the REST store (and
    requests) here would slow down resolving a local model directory, which serving does."""
    return cast("RestTrackingStore", store) if getattr(store, "remote", False) else None


def logged_model_artifact_uri(store: AbstractTrackingStore, model_id: str, http: Hashable = None) -> str:
    """The artifact URI of logged model `model_id` (one the store's artifact repositories read)."""
    if not is_logged_model_id(model_id):
        raise InvalidInput(f"model_id {model_id!r} is not a logged model id (m-<32 hex digits>)")
    rest = _rest(store)
    if rest is not None:
        answer = rest.client.call("GET", f"/logged-models/{model_id}")
        return rest.local_artifact_uri(str(answer["model"]["info"]["artifact_uri"]))
    experiments = every_page(
        lambda size, token: store.search_experiments(ViewType.ALL, max_results=size, page_token=token),
        SEARCH_MAX_RESULTS_DEFAULT,
    )
    for experiment in experiments:
        uri = f"{experiment.artifact_location.rstrip('/')}/models/{model_id}/artifacts"
        if get_artifact_repository(uri, http).list_artifacts(None):
            return uri
    raise ResourceNotFound(
        f"logged model {model_id!r} does not exist: no experiment of the tracking store has models/{model_id}/artifacts"
    )


def run_logged_model_uri(store: AbstractTrackingStore, run: Run, name: str) -> str | None:
    """The artifact URI of the model named `name` that `run` logged as an MLflow 3 logged model,
    or None (a SQL store keeps no logged-model names; its runs' models are the run's artifacts)."""
    rest = _rest(store)
    if rest is None:
        return None
    found = rest.client.pages(
        "POST",
        "/logged-models/search",
        {"experiment_ids": [run.info.experiment_id], **({} if "'" in name else {"filter": f"name = '{name}'"})},
        "models",
        SEARCH_LIMIT,
        page_size=100,
    )
    for model in found:  # NOTE: the filter is a hint (shipyard server ignores it); match here
        info = model.get("info", {})
        if info.get("source_run_id") == run.info.run_id and info.get("name") == name:
            return rest.local_artifact_uri(str(info["artifact_uri"]))
    return None


__all__ = ["LOGGED_MODEL_ID", "is_logged_model_id", "logged_model_artifact_uri", "run_logged_model_uri"]
