"""Batched writes of metrics, params and tags in one transaction, with dialect-native upserts.

NOTE: sqlite and PostgreSQL get `INSERT ... ON CONFLICT`; other databases fall back to a
read-then-write per row (correct, slower, and racy only across processes on those databases).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shipyard.exceptions import InvalidInput
from shipyard.tracking.entities import Metric, Param, RunTag
from shipyard.tracking.orm import SqlLatestMetric, SqlMetric, SqlParam, SqlTag

_CHUNK = 500


def _dialect_insert(session: Session, model: Any) -> Any:
    name = session.get_bind().dialect.name
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(model)
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(model)
    return None


def _key_of(model: Any, row: dict[str, Any], keys: Sequence[str]) -> tuple[Any, ...]:
    return tuple(row[k] for k in keys)


def insert_ignore(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert rows, skipping those whose primary key already exists."""
    if not rows:
        return
    statement = _dialect_insert(session, model)
    if statement is not None:
        session.execute(statement.on_conflict_do_nothing(), rows)
        return
    for row in rows:
        pk = tuple(row[column.name] for column in model.__table__.primary_key.columns)
        if session.get(model, pk) is None:
            session.add(model(**row))
    session.flush()


def upsert(
    session: Session,
    model: Any,
    rows: list[dict[str, Any]],
    index_elements: Sequence[str],
    update_columns: Sequence[str],
    where: Any = None,
) -> None:
    """Insert rows or update `update_columns` of existing ones (only where `where(table, new)` holds)."""
    if not rows:
        return
    statement = _dialect_insert(session, model)
    if statement is not None:
        excluded = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=list(index_elements),
            set_={column: excluded[column] for column in update_columns},
            where=None if where is None else where(model.__table__.c, excluded),
        )
        session.execute(statement, rows)
        return
    for row in rows:
        existing = session.get(model, _key_of(model, row, index_elements))
        if existing is None:
            session.add(model(**row))
        elif where is None or where(_Values(existing), _Values(row)):
            for column in update_columns:
                setattr(existing, column, row[column])
    session.flush()


class _Values:
    """Attribute access over an ORM row or a dict, for the generic upsert's `where`."""

    def __init__(self, source: Any) -> None:
        self._source = source

    def __getattr__(self, name: str) -> Any:
        source = self.__dict__["_source"]
        return source[name] if isinstance(source, dict) else getattr(source, name)


def _newer(current: Any, new: Any) -> Any:
    """(step, timestamp, value) of `new` is greater than that of `current` (MLflow's "latest")."""
    if isinstance(current, _Values):
        return (new.step, new.timestamp, new.value) > (current.step, current.timestamp, current.value)
    return sa.or_(
        current.step < new.step,
        sa.and_(
            current.step == new.step,
            sa.or_(
                current.timestamp < new.timestamp,
                sa.and_(current.timestamp == new.timestamp, current.value <= new.value),
            ),
        ),
    )


def _write_params(session: Session, run_id: str, params: Sequence[Param]) -> None:
    wanted: dict[str, str] = {}
    for param in params:
        if wanted.setdefault(param.key, param.value) != param.value:
            raise InvalidInput(
                f"param {param.key!r} is given twice in one batch with different values "
                f"({wanted[param.key]!r} and {param.value!r}); params are immutable"
            )
    keys = list(wanted)
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        insert_ignore(session, SqlParam, [{"run_uuid": run_id, "key": k, "value": wanted[k]} for k in chunk])
        stored = session.execute(
            sa.select(SqlParam.key, SqlParam.value).where(SqlParam.run_uuid == run_id, SqlParam.key.in_(chunk))
        ).all()
        for key, value in stored:
            if value != wanted[key]:
                raise InvalidInput(
                    f"param {key!r} of run {run_id} is already {value!r}; it cannot be changed to "
                    f"{wanted[key]!r} (params are immutable; log a new key or a metric instead)"
                )


_METRIC_COLUMNS = ("run_uuid", "key", "value", "timestamp", "step", "is_nan")


def _insert_metric_rows(session: Session, rows: list[tuple[Any, ...]]) -> None:
    """The metric history insert. NOTE: on sqlite the rows go straight to the driver's
    executemany (SQLAlchemy's per-row parameter processing would cost more than the insert);
    other databases use SQLAlchemy's batched multi-row INSERT."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(
            f"INSERT INTO metrics ({', '.join(_METRIC_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)", rows
        )
        return
    metrics = SqlMetric.metadata.tables[SqlMetric.__tablename__]
    session.execute(sa.insert(metrics), [dict(zip(_METRIC_COLUMNS, row, strict=True)) for row in rows])


def write_batch(
    session: Session, run_id: str, metrics: Sequence[Metric], params: Sequence[Param], tags: Sequence[RunTag]
) -> None:
    """Write everything in the caller's transaction: params (immutable), tags (last wins), the
    metric history, and the latest value per metric key."""
    _write_params(session, run_id, params)
    tag_rows = {tag.key: {"run_uuid": run_id, "key": tag.key, "value": tag.value} for tag in tags}
    upsert(session, SqlTag, list(tag_rows.values()), ["run_uuid", "key"], ["value"])
    if not metrics:
        return
    rows = []
    latest: dict[str, tuple[Any, ...]] = {}
    for key, value, timestamp, step, _ in metrics:
        nan = value != value  # NaN; NOTE: stored as 0.0 with is_nan set (sqlite turns NaN into NULL)
        row = (run_id, key, 0.0 if nan else value, timestamp, step, nan)
        rows.append(row)
        best = latest.get(key)
        if best is None or (step, timestamp, row[2]) >= (best[4], best[3], best[2]):
            latest[key] = row
    _insert_metric_rows(session, rows)
    upsert(
        session,
        SqlLatestMetric,
        [dict(zip(_METRIC_COLUMNS, row, strict=True)) for row in latest.values()],
        ["run_uuid", "key"],
        ["value", "timestamp", "step", "is_nan"],
        where=_newer,
    )


__all__ = ["insert_ignore", "upsert", "write_batch"]
