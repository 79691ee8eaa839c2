"""Keyset pages in SQL: "the rows after the last one's order keys" as a WHERE condition.

See `paging.py` for the tokens. Every caller's keys end with a unique column, so the order is
total and a page boundary is exact under concurrent inserts and deletes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shipyard.tracking.paging import decode_token, encode_token

SortKey = tuple[Any, bool]
"""(SQL expression, ascending); NULLs sort last either way."""


def _equal(column: Any, value: Any) -> Any:
    return column.is_(None) if value is None else column == value


def after(keys: Sequence[SortKey], values: Sequence[Any]) -> Any:
    """Rows strictly after `values` in the order `keys` (NULLs last), as a WHERE condition."""
    branches = []
    for index, ((column, ascending), value) in enumerate(zip(keys, values, strict=True)):
        if value is None:
            continue  # NOTE: NULLs sort last, so nothing is strictly after a NULL in this key
        later = column > value if ascending else column < value
        prefix = [_equal(c, v) for (c, _), v in zip(keys[:index], values[:index], strict=True)]
        branches.append(sa.and_(*prefix, sa.or_(later, column.is_(None))))
    return sa.or_(sa.false(), *branches)


def order_terms(keys: Sequence[SortKey]) -> list[Any]:
    return [sa.nulls_last(column.asc() if ascending else column.desc()) for column, ascending in keys]


def fetch_page(
    session: Session,
    statement: sa.Select[Any],
    keys: Sequence[SortKey],
    max_results: int,
    page_token: str | None,
    query: dict[str, Any],
) -> tuple[list[Any], str | None]:
    """One page of `statement`'s first entity in the order `keys` (the last one unique), and the
    token of the next page."""
    start = decode_token(page_token, query, len(keys))
    if start is not None:
        statement = statement.where(after(keys, start))
    statement = statement.add_columns(*(column for column, _ in keys)).order_by(*order_terms(keys))
    rows = session.execute(statement.limit(max_results + 1)).all()
    token = encode_token(query, [_plain(v) for v in rows[max_results - 1][1:]]) if len(rows) > max_results else None
    return [row[0] for row in rows[:max_results]], token


def _plain(value: Any) -> Any:
    """A key value as JSON keeps it exactly (ints and floats round-trip; anything else as text)."""
    return value if value is None or isinstance(value, (str, int, float)) else str(value)


__all__ = ["SortKey", "after", "fetch_page", "order_terms"]
