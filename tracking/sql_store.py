"""The SQL tracking store (sqlite, PostgreSQL and other SQLAlchemy databases).

Sessions are short (one per call). Writes of metrics, params and tags go through `log_batch`
(see `sql_batch.py`), which the background writer calls with large batches.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shipyard.exceptions import AlreadyExists, InvalidInput, InvalidState, ResourceNotFound
from shipyard.redact import mask_url
from shipyard.tracking import sql_gc, validation
from shipyard.tracking.artifacts import artifact_uri_scheme, store_for_scheme
from shipyard.tracking.db import create_engine_for, default_artifact_root, migrate, session_scope
from shipyard.tracking.entities import (
    DatasetInput,
    Experiment,
    LifecycleStage,
    LoggedModelInput,
    LoggedModelOutput,
    Metric,
    Param,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from shipyard.tracking.orm import (
    SqlExperiment,
    SqlExperimentTag,
    SqlMetric,
    SqlParam,
    SqlRun,
    SqlTag,
)
from shipyard.tracking.paging import PagedList, check_max_results
from shipyard.tracking.search import parse_filter, parse_order_by
from shipyard.tracking.sql_batch import insert_ignore, upsert, write_batch
from shipyard.tracking.sql_experiment_search import check_view_type, search_experiments
from shipyard.tracking.sql_inputs import with_inputs, write_inputs, write_outputs
from shipyard.tracking.sql_paging import fetch_page
from shipyard.tracking.sql_rows import (
    PARENT_RUN_TAG,
    RUN_NAME_TAG,
    experiment_row,
    now_ms,
    random_run_name,
    run_info,
    run_row,
    runs_of,
    to_experiment,
)
from shipyard.tracking.sql_search import order_keys, run_condition
from shipyard.tracking.store import (
    DEFAULT_EXPERIMENT_ID,
    DEFAULT_EXPERIMENT_NAME,
    SEARCH_MAX_RESULTS_DEFAULT,
    AbstractTrackingStore,
)


class SqlTrackingStore(AbstractTrackingStore):
    """Tracking tables in one SQL database; create it with `from_uri` (which migrates)."""

    def __init__(self, engine: sa.Engine, artifact_root: str) -> None:
        self.engine = engine
        self._artifact_root = artifact_root.rstrip("/")
        self.dialect = engine.dialect.name
        # NOTE: the real URL, password included, so a registry client reaches the same database;
        # never print it: `repr` masks it.
        self.uri = engine.url.render_as_string(hide_password=False)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({mask_url(self.uri)!r})"

    @classmethod
    def from_uri(cls, uri: str, artifact_root: str | None = None) -> SqlTrackingStore:
        """Engine + migrations; no `artifact_root` means `db.default_artifact_root(uri)`."""
        engine = create_engine_for(uri)
        migrate(engine)
        store = cls(engine, artifact_root or default_artifact_root(uri))
        store.uri = uri
        store.ensure_default_experiment()
        return store

    @property
    def artifact_root(self) -> str:
        return self._artifact_root

    # --- experiments --------------------------------------------------------------------------
    def ensure_default_experiment(self) -> None:
        """Experiment 0, "Default", where runs go when no experiment is set (as in MLflow)."""
        with session_scope(self.engine) as session:
            if session.get(SqlExperiment, int(DEFAULT_EXPERIMENT_ID)) is not None:
                return
            now = now_ms()
            insert_ignore(
                session,
                SqlExperiment,
                [
                    {
                        "experiment_id": int(DEFAULT_EXPERIMENT_ID),
                        "name": DEFAULT_EXPERIMENT_NAME,
                        "artifact_location": f"{self._artifact_root}/{DEFAULT_EXPERIMENT_ID}",
                        "lifecycle_stage": LifecycleStage.ACTIVE,
                        "creation_time": now,
                        "last_update_time": now,
                    }
                ],
            )

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Sequence[Any] | None = None
    ) -> str:
        validation.check_experiment_name(name)
        if artifact_location is not None:
            store_for_scheme(artifact_uri_scheme(artifact_location))  # NOTE: a bad scheme fails here, not at logging
        now = now_ms()
        try:
            with session_scope(self.engine) as session:
                row = SqlExperiment(
                    name=name,
                    artifact_location=artifact_location,
                    lifecycle_stage=LifecycleStage.ACTIVE,
                    creation_time=now,
                    last_update_time=now,
                )
                session.add(row)
                session.flush()
                if artifact_location is None:
                    row.artifact_location = f"{self._artifact_root}/{row.experiment_id}"
                for tag in tags or []:
                    key = validation.check_key(tag.key, "experiment tag")
                    session.add(SqlExperimentTag(experiment_id=row.experiment_id, key=key, value=str(tag.value)))
                return str(row.experiment_id)
        except sa.exc.IntegrityError:
            raise AlreadyExists(f"experiment {name!r} already exists") from None

    def get_experiment(self, experiment_id: str) -> Experiment:
        with session_scope(self.engine, read_only=True) as session:
            return to_experiment(session, experiment_row(session, experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        with session_scope(self.engine, read_only=True) as session:
            row = session.execute(sa.select(SqlExperiment).where(SqlExperiment.name == name)).scalar_one_or_none()
            return None if row is None else to_experiment(session, row)

    def search_experiments(
        self,
        view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        """MLflow's experiment filter and order (see `sql_experiment_search`)."""
        return search_experiments(self.engine, view_type, max_results, filter_string, order_by, page_token)

    def _set_experiment_stage(self, experiment_id: str, stage: str) -> None:
        with session_scope(self.engine) as session:
            row = experiment_row(session, experiment_id)
            row.lifecycle_stage = stage
            row.last_update_time = now_ms()
            session.execute(
                sa.update(SqlRun)
                .where(SqlRun.experiment_id == row.experiment_id)
                .values(lifecycle_stage=stage, deleted_time=now_ms() if stage == LifecycleStage.DELETED else None)
            )

    def delete_experiment(self, experiment_id: str) -> None:
        if str(experiment_id) == DEFAULT_EXPERIMENT_ID:
            raise InvalidInput("the Default experiment (id 0) cannot be deleted")
        self._set_experiment_stage(experiment_id, LifecycleStage.DELETED)

    def restore_experiment(self, experiment_id: str) -> None:
        self._set_experiment_stage(experiment_id, LifecycleStage.ACTIVE)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        validation.check_experiment_name(new_name)
        try:
            with session_scope(self.engine) as session:
                row = experiment_row(session, experiment_id)
                row.name = new_name
                row.last_update_time = now_ms()
        except sa.exc.IntegrityError:
            raise AlreadyExists(f"experiment {new_name!r} already exists") from None

    def set_experiment_tag(self, experiment_id: str, tag: Any) -> None:
        key = validation.check_key(tag.key, "experiment tag")
        with session_scope(self.engine) as session:
            row = experiment_row(session, experiment_id)
            upsert(
                session,
                SqlExperimentTag,
                [{"experiment_id": row.experiment_id, "key": key, "value": str(tag.value)}],
                ["experiment_id", "key"],
                ["value"],
            )

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        with session_scope(self.engine) as session:
            row = experiment_row(session, experiment_id)
            deleted = session.execute(
                sa.delete(SqlExperimentTag).where(
                    SqlExperimentTag.experiment_id == row.experiment_id, SqlExperimentTag.key == key
                )
            )
            if deleted.rowcount == 0:  # type: ignore[attr-defined]
                raise ResourceNotFound(f"No tag with name: {key} in experiment with id {experiment_id}")

    # --- runs ---------------------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        user_id: str | None,
        start_time: int | None,
        tags: Sequence[RunTag],
        run_name: str | None,
    ) -> Run:
        tag_map = {tag.key: str(tag.value) for tag in tags}
        run_name = run_name or tag_map.get(RUN_NAME_TAG) or random_run_name()
        tag_map[RUN_NAME_TAG] = run_name
        run_id = uuid.uuid4().hex
        with session_scope(self.engine) as session:
            experiment = experiment_row(session, experiment_id)
            if experiment.lifecycle_stage != LifecycleStage.ACTIVE:
                raise InvalidState(f"experiment {experiment_id!r} is deleted; restore it before starting runs")
            session.add(
                SqlRun(
                    run_uuid=run_id,
                    name=run_name,
                    experiment_id=experiment.experiment_id,
                    user_id=user_id,
                    status=RunStatus.RUNNING,
                    start_time=start_time if start_time is not None else now_ms(),
                    end_time=None,
                    artifact_uri=f"{(experiment.artifact_location or '').rstrip('/')}/{run_id}/artifacts",
                    lifecycle_stage=LifecycleStage.ACTIVE,
                    parent_run_id=tag_map.get(PARENT_RUN_TAG),
                )
            )
            session.flush()
            session.add_all(SqlTag(run_uuid=run_id, key=k, value=v) for k, v in tag_map.items())
        return self.get_run(run_id)

    def get_run(self, run_id: str) -> Run:
        with session_scope(self.engine, read_only=True) as session:
            return with_inputs(session, runs_of(session, [run_row(session, run_id)]))[0]

    def update_run_info(self, run_id: str, run_status: str, end_time: int | None, run_name: str | None) -> RunInfo:
        if run_status not in RunStatus.ALL:
            raise InvalidInput(f"run status {run_status!r} is not one of {', '.join(RunStatus.ALL)}")
        with session_scope(self.engine) as session:
            row = run_row(session, run_id)
            row.status = run_status
            row.end_time = end_time
            if run_name:
                row.name = run_name
                upsert(
                    session,
                    SqlTag,
                    [{"run_uuid": row.run_uuid, "key": RUN_NAME_TAG, "value": run_name}],
                    ["run_uuid", "key"],
                    ["value"],
                )
            return run_info(row)

    def _set_run_stage(self, run_id: str, stage: str) -> None:
        with session_scope(self.engine) as session:
            row = run_row(session, run_id)
            row.lifecycle_stage = stage
            row.deleted_time = now_ms() if stage == LifecycleStage.DELETED else None

    def delete_run(self, run_id: str) -> None:
        self._set_run_stage(run_id, LifecycleStage.DELETED)

    def restore_run(self, run_id: str) -> None:
        self._set_run_stage(run_id, LifecycleStage.ACTIVE)

    # --- permanent deletion (MLflow's names; only `shipyard gc` calls them: see sql_gc.py) ----
    def _get_deleted_runs(self, older_than: int = 0) -> list[str]:
        return sql_gc.deleted_run_ids(self.engine, older_than)

    def _hard_delete_run(self, run_id: str) -> None:
        sql_gc.hard_delete_run(self.engine, run_id)

    def _hard_delete_experiment(self, experiment_id: str) -> None:
        sql_gc.hard_delete_experiment(self.engine, experiment_id)

    def log_batch(
        self, run_id: str, metrics: Sequence[Metric], params: Sequence[Param], tags: Sequence[RunTag]
    ) -> None:
        with session_scope(self.engine) as session:
            row = self._active_run(session, run_id)
            write_batch(session, run_id, metrics, params, tags)
            names = [tag.value for tag in tags if tag.key == RUN_NAME_TAG]
            if names:
                row.name = names[-1]

    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[DatasetInput] | None = None,
        models: Sequence[LoggedModelInput] | None = None,
    ) -> None:
        with session_scope(self.engine) as session:
            self._active_run(session, run_id)
            write_inputs(session, run_id, datasets or (), models or ())

    def log_outputs(self, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
        with session_scope(self.engine) as session:
            self._active_run(session, run_id)
            write_outputs(session, run_id, models)

    @staticmethod
    def _active_run(session: Session, run_id: str) -> SqlRun:
        row = run_row(session, run_id)
        if row.lifecycle_stage != LifecycleStage.ACTIVE:
            raise InvalidState(f"run {run_id!r} is deleted; restore it before logging to it")
        return row

    def delete_tag(self, run_id: str, key: str) -> None:
        with session_scope(self.engine) as session:
            run_row(session, run_id)
            deleted = session.execute(sa.delete(SqlTag).where(SqlTag.run_uuid == run_id, SqlTag.key == key))
            if deleted.rowcount == 0:  # type: ignore[attr-defined]
                raise ResourceNotFound(f"run {run_id!r} has no tag {key!r}")

    def get_metric_history(self, run_id: str, metric_key: str) -> list[Metric]:
        with session_scope(self.engine, read_only=True) as session:
            run_row(session, run_id)
            rows = session.execute(
                sa.select(SqlMetric.value, SqlMetric.timestamp, SqlMetric.step, SqlMetric.is_nan)
                .where(SqlMetric.run_uuid == run_id, SqlMetric.key == metric_key)
                .order_by(SqlMetric.step, SqlMetric.timestamp, SqlMetric.id)
            ).all()
        return [Metric(metric_key, float("nan") if nan else value, ts, step, run_id) for value, ts, step, nan in rows]

    def get_params(self, run_id: str) -> dict[str, str]:
        with session_scope(self.engine, read_only=True) as session:
            rows = session.execute(sa.select(SqlParam.key, SqlParam.value).where(SqlParam.run_uuid == run_id)).all()
        return {key: value for key, value in rows}

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str = "",
        run_view_type: int = ViewType.ACTIVE_ONLY,
        max_results: int = SEARCH_MAX_RESULTS_DEFAULT,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        check_max_results(max_results)
        ids = [validation.check_experiment_id(e) for e in experiment_ids]
        stages = ViewType.stages(check_view_type(run_view_type, "run_view_type"))
        statement = sa.select(SqlRun).where(SqlRun.experiment_id.in_(ids), SqlRun.lifecycle_stage.in_(stages))
        for comparison in parse_filter(filter_string):
            statement = statement.where(run_condition(comparison, self.dialect))
        statement, keys = order_keys(statement, parse_order_by(list(order_by or [])))
        query = {"search": "runs", "experiment_ids": sorted(ids), "filter": filter_string or "", "view": run_view_type}
        query["order_by"] = list(order_by or [])
        with session_scope(self.engine, read_only=True) as session:
            rows, token = fetch_page(session, statement, keys, max_results, page_token, query)
            return PagedList(with_inputs(session, runs_of(session, rows)), token)


__all__ = ["SqlTrackingStore"]
