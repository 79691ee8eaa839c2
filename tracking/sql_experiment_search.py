"""Experiment search on the SQL store, with MLflow's filter keys, default order and page tokens.

    name LIKE 'fraud-%' AND tags.team = 'risk' AND attributes.creation_time > 1700000000000
    tags.owner IS NULL            experiment_id IN ('1', '4')

The default order is MLflow's: newest created first, then experiment id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from shipyard.exceptions import InvalidInput
from shipyard.tracking.db import session_scope
from shipyard.tracking.entities import Experiment, ViewType
from shipyard.tracking.orm import SqlExperiment, SqlExperimentTag
from shipyard.tracking.paging import PagedList, check_max_results
from shipyard.tracking.search import EXPERIMENTS, Comparison, parse_filter, parse_order_by
from shipyard.tracking.sql_paging import SortKey, fetch_page
from shipyard.tracking.sql_rows import to_experiment
from shipyard.tracking.sql_search import compare

_COLUMNS: dict[str, Any] = {
    "name": SqlExperiment.name,
    "experiment_id": SqlExperiment.experiment_id,
    "creation_time": SqlExperiment.creation_time,
    "last_update_time": SqlExperiment.last_update_time,
}
_VIEW_TYPES = (ViewType.ACTIVE_ONLY, ViewType.DELETED_ONLY, ViewType.ALL)


def check_view_type(view_type: Any, name: str) -> int:
    if view_type not in _VIEW_TYPES:
        raise InvalidInput(f"{name} {view_type!r} is not one of ViewType.ACTIVE_ONLY (1), DELETED_ONLY (2), ALL (3)")
    return int(view_type)


def _condition(comparison: Comparison, dialect: str) -> Any:
    op, value = comparison.op, comparison.value
    if comparison.kind == "tag":
        having = sa.select(SqlExperimentTag.experiment_id).where(SqlExperimentTag.key == comparison.key)
        if op == "IS NULL":
            return SqlExperiment.experiment_id.not_in(having)
        if op != "IS NOT NULL":
            having = having.where(compare(SqlExperimentTag.value, op, value, dialect))
        return SqlExperiment.experiment_id.in_(having)
    column = _COLUMNS[comparison.key]
    if comparison.key == "experiment_id":
        # NOTE: ids are integers in the table and strings in MLflow's filter ('1', IN ('1', '2')).
        column = sa.cast(column, sa.String)
    return compare(column, op, value, dialect)


def search_experiments(
    engine: sa.Engine,
    view_type: int,
    max_results: int,
    filter_string: str | None,
    order_by: Sequence[str] | None,
    page_token: str | None,
) -> PagedList[Experiment]:
    check_max_results(max_results)
    stages = ViewType.stages(check_view_type(view_type, "view_type"))
    statement = sa.select(SqlExperiment).where(SqlExperiment.lifecycle_stage.in_(stages))
    for comparison in parse_filter(filter_string, EXPERIMENTS):
        statement = statement.where(_condition(comparison, engine.dialect.name))
    clauses = parse_order_by(list(order_by or []) or ["creation_time DESC", "experiment_id ASC"], EXPERIMENTS)
    for clause in clauses:
        if clause.kind != "attribute":
            raise InvalidInput(f"order_by: experiments are ordered by {', '.join(_COLUMNS)}, not {clause.kind}s")
    keys: list[SortKey] = [(_COLUMNS[clause.key], clause.ascending) for clause in clauses]
    if not any(clause.key == "experiment_id" for clause in clauses):
        keys.append((SqlExperiment.experiment_id, False))  # MLflow's tie-breaker
    query = {
        "search": "experiments",
        "view_type": view_type,
        "filter": filter_string or "",
        "order_by": list(order_by or []),
    }
    with session_scope(engine, read_only=True) as session:
        rows, token = fetch_page(session, statement, keys, max_results, page_token, query)
        return PagedList([to_experiment(session, row) for row in rows], token)


__all__ = ["check_view_type", "search_experiments"]
