"""The tracking store interface (MLflow's method names) and the table that picks a store by URI.

`STORES` maps a URI scheme to a "module:attr" import string; the class is imported only when a
URI with that scheme is used. One store object per (URI, artifact root) per process, so that
every caller in a process shares one engine and one background writer.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

from shipyard.exceptions import InvalidInput
from shipyard.lazy import load
from shipyard.tracking.entities import (
    DatasetInput,
    Experiment,
    LoggedModelInput,
    LoggedModelOutput,
    Metric,
    Param,
    Run,
    RunInfo,
    RunTag,
    ViewType,
)
from shipyard.tracking.paging import PagedList

DEFAULT_DB_NAME = "shipyard.db"
DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"
SEARCH_MAX_RESULTS_DEFAULT = 1000

_SQL = "shipyard.tracking.sql_store:SqlTrackingStore"
STORES: dict[str, str] = {
    "sqlite": _SQL,
    "postgresql": _SQL,
    "postgres": _SQL,
    "mysql": _SQL,
    "mssql": _SQL,
    "http": "shipyard.tracking.rest_store:RestTrackingStore",
    "https": "shipyard.tracking.rest_store:RestTrackingStore",
}
"""URI scheme (the part before `+driver` and `://`) -> tracking store class.

Each class has `from_uri(uri, artifact_root: str | None)`; None means the store's own default."""


def default_tracking_uri(cwd: Path | None = None) -> str:
    """The embedded default: a sqlite file in the working directory."""
    return f"sqlite:///{(cwd or Path.cwd()).resolve() / DEFAULT_DB_NAME}"


def uri_scheme(uri: str) -> str:
    """`postgresql+psycopg2://...` -> `postgresql`; a URI without `://` is an error."""
    if "://" not in uri:
        raise InvalidInput(
            f"tracking URI {uri!r} has no scheme; expected e.g. sqlite:///path/to/file.db "
            f"or postgresql://host/db (known schemes: {', '.join(sorted(STORES))})"
        )
    return uri.split("://", 1)[0].split("+", 1)[0].lower()


def store_class(table: Mapping[str, str], uri: str, *, what: str) -> Any:
    """The class that a scheme table (`STORES`, the registry's `REGISTRY_STORES`) names for the
    URI's scheme, imported now; `what` names the kind of URI in the error for an unknown scheme."""
    scheme = uri_scheme(uri)
    if scheme not in table:
        raise InvalidInput(f"{what} URI scheme {scheme!r} is not supported; known schemes: {', '.join(sorted(table))}")
    return load(table[scheme])


def get_tracking_store(uri: str, artifact_root: str | None = None, http: Hashable = None) -> AbstractTrackingStore:
    """The process-wide store for a URI (created, and its database migrated, on first use).

    `http` is how a REST store reaches its server (`rest_client.RestClientSettings`, built from
    the caller's settings); classes without `remote = True` never see it, so a SQL database
    stays one store (one engine, one background writer) whoever opens it."""
    cls = store_class(STORES, uri, what="tracking")
    return _open_tracking_store(cls, uri, artifact_root, http if getattr(cls, "remote", False) else None)


@functools.cache
def _open_tracking_store(cls: Any, uri: str, artifact_root: str | None, http: Hashable) -> AbstractTrackingStore:
    # NOTE: the store class picks the default artifact root (a SQL store: beside its sqlite file),
    # so this module never imports SQLAlchemy: serving a local directory imports it.
    store: AbstractTrackingStore = (
        cls.from_uri(uri, artifact_root) if http is None else cls.from_uri(uri, artifact_root, http)
    )
    return store


class AbstractTrackingStore(abc.ABC):
    """Experiments, runs, params, metrics and tags. Ids are strings, times are epoch milliseconds."""

    # --- experiments --------------------------------------------------------------------------
    @abc.abstractmethod
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Sequence[Any] | None = None
    ) -> str: ...

    @abc.abstractmethod
    def get_experiment(self, experiment_id: str) -> Experiment: ...

    @abc.abstractmethod
    def get_experiment_by_name(self, name: str) -> Experiment | None: ...

    @abc.abstractmethod
    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        """One page; `.token` of the result continues it (`tracking/paging.py`)."""

    @abc.abstractmethod
    def delete_experiment(self, experiment_id: str) -> None: ...

    @abc.abstractmethod
    def restore_experiment(self, experiment_id: str) -> None: ...

    @abc.abstractmethod
    def rename_experiment(self, experiment_id: str, new_name: str) -> None: ...

    @abc.abstractmethod
    def set_experiment_tag(self, experiment_id: str, tag: Any) -> None: ...

    @abc.abstractmethod
    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        """A missing tag is `ResourceNotFound` (as in MLflow)."""

    # --- runs ---------------------------------------------------------------------------------
    @abc.abstractmethod
    def create_run(
        self,
        experiment_id: str,
        user_id: str | None,
        start_time: int | None,
        tags: Sequence[RunTag],
        run_name: str | None,
    ) -> Run: ...

    @abc.abstractmethod
    def get_run(self, run_id: str) -> Run: ...

    @abc.abstractmethod
    def update_run_info(self, run_id: str, run_status: str, end_time: int | None, run_name: str | None) -> RunInfo: ...

    @abc.abstractmethod
    def delete_run(self, run_id: str) -> None: ...

    @abc.abstractmethod
    def restore_run(self, run_id: str) -> None: ...

    @abc.abstractmethod
    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric],
        params: Sequence[Param],
        tags: Sequence[RunTag],
    ) -> None:
        """Write everything or nothing. A param whose key exists with another value is an error."""

    def log_metric(self, run_id: str, metric: Metric) -> None:
        self.log_batch(run_id, [metric], [], [])

    def log_param(self, run_id: str, param: Param) -> None:
        self.log_batch(run_id, [], [param], [])

    def set_tag(self, run_id: str, tag: RunTag) -> None:
        self.log_batch(run_id, [], [], [tag])

    @abc.abstractmethod
    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[DatasetInput] | None = None,
        models: Sequence[LoggedModelInput] | None = None,
    ) -> None:
        """Record the datasets and logged models a run used (MLflow's `log_inputs`); a dataset
        logged again with the same name and digest is kept once."""

    @abc.abstractmethod
    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        """Record the logged models a run produced, each at a step (MLflow's `log_outputs`)."""

    @abc.abstractmethod
    def delete_tag(self, run_id: str, key: str) -> None: ...

    @abc.abstractmethod
    def get_metric_history(self, run_id: str, metric_key: str) -> list[Metric]: ...

    @abc.abstractmethod
    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str = "",
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        """One page; `.token` of the result continues it (`tracking/paging.py`)."""

    def get_params(self, run_id: str) -> dict[str, str]:
        """The run's params (the async writer checks immutability against these)."""
        return dict(self.get_run(run_id).data.params)

    @property
    @abc.abstractmethod
    def artifact_root(self) -> str:
        """Default root under which new experiments put their artifacts."""


__all__ = [
    "AbstractTrackingStore",
    "DEFAULT_EXPERIMENT_ID",
    "DEFAULT_EXPERIMENT_NAME",
    "STORES",
    "default_tracking_uri",
    "get_tracking_store",
    "store_class",
    "uri_scheme",
]
