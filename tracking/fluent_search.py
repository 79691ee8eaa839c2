"""The fluent searches, `search_runs` and `search_experiments`: every page of a search, as one
list (or a DataFrame of runs), as MLflow's fluent functions return them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shipyard.exceptions import InvalidInput, ResourceNotFound
from shipyard.tracking.client import TrackingClient
from shipyard.tracking.entities import Experiment, Run, ViewType
from shipyard.tracking.fluent_state import default_experiment_id, get_tracking_uri, process_settings
from shipyard.tracking.paging import check_max_results, every_page

PAGE_SIZE = 1000


def all_experiments(
    client: TrackingClient,
    view_type: int,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
) -> list[Experiment]:
    """Up to `max_results` experiments (None: all of them), following page tokens."""
    if max_results is not None:
        check_max_results(max_results)
    return every_page(
        lambda size, token: client.search_experiments(view_type, size, filter_string, order_by, token),
        PAGE_SIZE,
        max_results,
    )


def all_runs(client: TrackingClient, experiment_ids: Sequence[str], view_type: int) -> list[Run]:
    """Every run of the experiments, following page tokens."""
    ids = list(experiment_ids)
    return every_page(
        lambda size, token: client.search_runs(ids, run_view_type=view_type, max_results=size, page_token=token),
        PAGE_SIZE,
    )


def search_experiments(
    view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
) -> list[Experiment]:
    """Experiments of the fluent tracking URI matching MLflow's experiment filter
    (`max_results=None`: all of them)."""
    client = TrackingClient(get_tracking_uri(), settings=process_settings())
    return all_experiments(client, view_type, max_results, filter_string, order_by)


def search_runs(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str = "",
    run_view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int = 100_000,
    order_by: Sequence[str] | None = None,
    output_format: str = "pandas",
    search_all_experiments: bool = False,
    experiment_names: Sequence[str] | None = None,
) -> Any:
    """Runs as a pandas DataFrame with MLflow's columns (run_id, ..., metrics.x, params.y, tags.z),
    or as a list of `Run` with `output_format="list"`. With no experiment given, the active
    experiment's runs, or every experiment's with `search_all_experiments=True`."""
    if output_format not in ("pandas", "list"):
        raise InvalidInput(f"output_format {output_format!r} is not supported; expected 'pandas' or 'list'")
    from shipyard.tracking.runs_frame import runs_to_frame

    client = TrackingClient(settings=process_settings())
    ids = [str(e) for e in experiment_ids or []]
    for name in experiment_names or []:
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise ResourceNotFound(f"experiment {name!r} does not exist")
        ids.append(experiment.experiment_id)
    if not ids and search_all_experiments:  # NOTE: MLflow searches the active experiments only
        ids = [e.experiment_id for e in all_experiments(client, ViewType.ACTIVE_ONLY)]
    if not ids:
        ids = [default_experiment_id(client.store)]
    runs = client.search_runs(ids, filter_string, run_view_type, max_results, order_by)
    return runs if output_format == "list" else runs_to_frame(runs)


__all__ = ["PAGE_SIZE", "all_experiments", "all_runs", "search_experiments", "search_runs"]
