"""Permanent deletion for `shipyard gc`: runs and experiments already marked deleted.

The SQL store exposes these under MLflow's names (`_get_deleted_runs`, `_hard_delete_run`,
`_hard_delete_experiment`); nothing else calls them. Rows that hang off a run or an experiment
are found through the metadata's foreign keys, so a table added later is deleted with its run
instead of blocking (or outliving) it.
"""

from __future__ import annotations

import sqlalchemy as sa

from shipyard.exceptions import InvalidState
from shipyard.tracking.db import Base, session_scope
from shipyard.tracking.entities import LifecycleStage
from shipyard.tracking.orm import SqlExperiment, SqlRun
from shipyard.tracking.sql_rows import experiment_row, now_ms, run_row


def _children(parent: sa.Table) -> list[sa.Column[object]]:
    """The columns of other tables with a foreign key to `parent` (their rows die with it)."""
    return [
        fk.parent
        for table in Base.metadata.sorted_tables
        if table is not parent
        for fk in table.foreign_keys
        if fk.column.table is parent
    ]


def deleted_run_ids(engine: sa.Engine, older_than_ms: int = 0) -> list[str]:
    """Runs marked deleted at least `older_than_ms` ago."""
    statement = sa.select(SqlRun.run_uuid).where(
        SqlRun.lifecycle_stage == LifecycleStage.DELETED,
        SqlRun.deleted_time <= now_ms() - older_than_ms,
    )
    with session_scope(engine, read_only=True) as session:
        return list(session.execute(statement.order_by(SqlRun.run_uuid)).scalars())


def deleted_experiment_ids(engine: sa.Engine, older_than_ms: int | None = None) -> list[str]:
    """Experiments marked deleted (with `older_than_ms`: last changed at least that long ago)."""
    statement = sa.select(SqlExperiment.experiment_id).where(SqlExperiment.lifecycle_stage == LifecycleStage.DELETED)
    if older_than_ms is not None:
        statement = statement.where(SqlExperiment.last_update_time < now_ms() - older_than_ms)
    with session_scope(engine, read_only=True) as session:
        return [str(i) for i in session.execute(statement.order_by(SqlExperiment.experiment_id)).scalars()]


def hard_delete_run(engine: sa.Engine, run_id: str) -> None:
    """Delete a run's rows and everything hanging off it, in one transaction."""
    table = SqlRun.__table__
    assert isinstance(table, sa.Table)
    with session_scope(engine) as session:
        run_row(session, run_id)  # an unknown id is ResourceNotFound
        for column in _children(table):
            session.execute(sa.delete(column.table).where(column == run_id))
        session.execute(sa.delete(SqlRun).where(SqlRun.run_uuid == run_id))


def hard_delete_experiment(engine: sa.Engine, experiment_id: str) -> None:
    """Delete a deleted experiment's row and its tags; its runs must be gone already."""
    table = SqlExperiment.__table__
    assert isinstance(table, sa.Table)
    with session_scope(engine) as session:
        row = experiment_row(session, experiment_id)
        if row.lifecycle_stage != LifecycleStage.DELETED:
            raise InvalidState(f"experiment {experiment_id!r} is not deleted; delete it before removing it for good")
        left = session.execute(sa.select(sa.func.count()).where(SqlRun.experiment_id == row.experiment_id)).scalar()
        if left:
            raise InvalidState(f"experiment {experiment_id!r} still has {left} run(s); remove them first")
        for column in _children(table):
            session.execute(sa.delete(column.table).where(column == row.experiment_id))
        session.execute(sa.delete(SqlExperiment).where(SqlExperiment.experiment_id == row.experiment_id))


__all__ = ["deleted_experiment_ids", "deleted_run_ids", "hard_delete_experiment", "hard_delete_run"]
