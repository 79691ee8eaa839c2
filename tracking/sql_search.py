"""Turn parsed search filters and order clauses into SQLAlchemy expressions over the run tables."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from shipyard.tracking.orm import SqlLatestMetric, SqlParam, SqlRun, SqlTag
from shipyard.tracking.search import NULL_OPS, Comparison, OrderBy
from shipyard.tracking.sql_inputs import dataset_condition
from shipyard.tracking.sql_paging import SortKey

_RUN_COLUMNS: dict[str, Any] = {
    "run_id": SqlRun.run_uuid,
    "run_name": SqlRun.name,
    "status": SqlRun.status,
    "artifact_uri": SqlRun.artifact_uri,
    "user_id": SqlRun.user_id,
    "lifecycle_stage": SqlRun.lifecycle_stage,
    "start_time": SqlRun.start_time,
    "end_time": SqlRun.end_time,
}


def _like_to_glob(pattern: str) -> str:
    """SQL LIKE pattern -> sqlite GLOB pattern (GLOB is case-sensitive, as MLflow's LIKE is)."""
    out = []
    for char in pattern:
        if char == "%":
            out.append("*")
        elif char == "_":
            out.append("?")
        elif char in "*?[":
            out.append(f"[{char}]")
        else:
            out.append(char)
    return "".join(out)


def compare(column: Any, op: str, value: Any, dialect: str) -> Any:
    """`column <op> value` for the operators the filter language allows."""
    if op == "=":
        return column == value
    if op == "!=":
        return column != value
    if op == "<":
        return column < value
    if op == "<=":
        return column <= value
    if op == ">":
        return column > value
    if op == ">=":
        return column >= value
    if op == "LIKE":
        # NOTE: sqlite's LIKE ignores ASCII case; GLOB gives MLflow's case-sensitive LIKE.
        return column.op("GLOB")(_like_to_glob(value)) if dialect == "sqlite" else column.like(value)
    if op == "ILIKE":
        return sa.func.lower(column).like(str(value).lower())
    if op == "NOT LIKE":
        return sa.not_(compare(column, "LIKE", value, dialect))
    if op == "NOT ILIKE":
        return sa.not_(compare(column, "ILIKE", value, dialect))
    if op == "IN":
        return column.in_(list(value))
    if op == "NOT IN":
        return column.not_in(list(value))
    raise AssertionError(f"unhandled operator {op!r}")  # the parser only lets the above through


def run_condition(comparison: Comparison, dialect: str) -> Any:
    """A WHERE condition on `runs` for one comparison."""
    kind, key, op, value = comparison.kind, comparison.key, comparison.op, comparison.value
    if kind == "attribute":
        return compare(_RUN_COLUMNS[key], op, value, dialect)
    if kind == "metric":
        matching = sa.select(SqlLatestMetric.run_uuid).where(
            SqlLatestMetric.key == key,
            SqlLatestMetric.is_nan == sa.false(),
            compare(SqlLatestMetric.value, op, value, dialect),
        )
        return SqlRun.run_uuid.in_(matching)
    if kind == "dataset":
        return SqlRun.run_uuid.in_(dataset_condition(key, lambda column: compare(column, op, value, dialect)))
    table = SqlParam if kind == "param" else SqlTag
    if op in NULL_OPS:
        having = sa.select(table.run_uuid).where(table.key == key)
        return SqlRun.run_uuid.not_in(having) if op == "IS NULL" else SqlRun.run_uuid.in_(having)
    matching = sa.select(table.run_uuid).where(table.key == key, compare(table.value, op, value, dialect))
    return SqlRun.run_uuid.in_(matching)


def order_keys(statement: sa.Select[Any], clauses: list[OrderBy]) -> tuple[sa.Select[Any], list[SortKey]]:
    """The statement with the joins the order needs, and its sort keys: the clauses (NULLs last),
    then MLflow's default, newest start first, then run id (unique, so pages are exact)."""
    keys: list[SortKey] = []
    for number, clause in enumerate(clauses):
        if clause.kind == "attribute":
            column: Any = _RUN_COLUMNS[clause.key]
        else:
            table: Any = {"metric": SqlLatestMetric, "param": SqlParam, "tag": SqlTag}[clause.kind]
            alias = aliased(table, name=f"order_{number}")
            statement = statement.outerjoin(alias, sa.and_(alias.run_uuid == SqlRun.run_uuid, alias.key == clause.key))
            column = alias.value
        keys.append((column, clause.ascending))
    return statement, [*keys, (SqlRun.start_time, False), (SqlRun.run_uuid, True)]


__all__ = ["compare", "order_keys", "run_condition"]
