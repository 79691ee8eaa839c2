"""The registry's search filter (MLflow's subset) turned into SQLAlchemy conditions.

    name = 'fraud'                     name LIKE 'fr%'       name ILIKE '%FRAUD%'
    run_id = 'abc' AND tags.team = 'risk'                    version_number > 3
    run_id IN ('a', 'b')               current_stage = 'Production'

Clauses are joined by AND; strings are single- or double-quoted. Errors name the clause.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from shipyard.exceptions import InvalidInput

_CLAUSE = re.compile(
    r"""^\s*(?P<ident>tags?\.(?:`[^`]+`|"[^"]+"|[\w.\-]+)|\w+)\s*
        (?P<op>!=|<>|>=|<=|=|<|>|\bnot\s+ilike\b|\bnot\s+like\b|\bilike\b|\blike\b|\bin\b)\s*
        (?P<value>.+?)\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
_STRING = re.compile(r"""^(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")$""")
_SPLIT_AND = re.compile(r"""\s+AND\s+(?=(?:[^'"]|'[^']*'|"[^"]*")*$)""", re.IGNORECASE)


def _string(text: str, clause: str) -> str:
    m = _STRING.match(text.strip())
    if not m:
        raise InvalidInput(f"filter clause {clause!r}: value {text!r} must be a quoted string")
    body = m.group(1) if m.group(1) is not None else m.group(2)
    return re.sub(r"\\(.)", r"\1", body)


def _values(text: str, clause: str) -> list[str]:
    text = text.strip()
    if not (text.startswith("(") and text.endswith(")")):
        raise InvalidInput(f"filter clause {clause!r}: IN needs a parenthesised list of strings")
    inner = text[1:-1]
    parts = re.findall(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\"""", inner)
    if not parts:
        raise InvalidInput(f"filter clause {clause!r}: IN list is empty")
    return [_string(p, clause) for p in parts]


def quote_value(text: str) -> str:
    """Escape a value for a single-quoted filter string (`name = '<here>'`)."""
    return text.replace("\\", "\\\\").replace("'", "\\'")


def _compare(column: Any, op: str, raw: str, clause: str, numeric: bool) -> Any:
    op = " ".join(op.lower().split())
    if op == "in":
        values: list[Any] = _values(raw, clause)
        return column.in_([int(v) for v in values] if numeric else values)
    if numeric:
        try:
            value: Any = int(raw.strip().strip("'\""))
        except ValueError:
            raise InvalidInput(f"filter clause {clause!r}: {raw!r} is not an integer") from None
    else:
        value = _string(raw, clause)
    ops: dict[str, Callable[[], Any]] = {
        "=": lambda: column == value,
        "!=": lambda: column != value,
        "<>": lambda: column != value,
        "like": lambda: column.like(value),
        "not like": lambda: ~column.like(value),
        "ilike": lambda: column.ilike(value),
        "not ilike": lambda: ~column.ilike(value),
    }
    if numeric:
        ops.update(
            {
                "<": lambda: column < value,
                "<=": lambda: column <= value,
                ">": lambda: column > value,
                ">=": lambda: column >= value,
            }
        )
    if op not in ops:
        raise InvalidInput(
            f"filter clause {clause!r}: operator {op!r} is not allowed here; allowed: {', '.join(sorted(ops))}, in"
        )
    return ops[op]()


def _tag_predicate(op: str, raw: str, clause: str) -> Callable[[Any], Any]:
    """The comparison of one clause, applied to the tag table's value column."""

    def predicate(value_column: Any) -> Any:
        return _compare(value_column, op, raw, clause, False)

    return predicate


def filter_conditions(
    filter_string: str | None,
    columns: dict[str, Any],
    numeric: set[str],
    tag_condition: Callable[[str, Callable[[Any], Any]], Any],
) -> list[Any]:
    """SQL conditions for a filter string.

    `columns` maps attribute names to columns; `tag_condition(key, predicate)` builds an EXISTS
    over the tag table with `predicate(value_column)`.
    """
    if not filter_string or not filter_string.strip():
        return []
    conditions = []
    for clause in _SPLIT_AND.split(filter_string.strip()):
        m = _CLAUSE.match(clause)
        if not m:
            raise InvalidInput(
                f"filter clause {clause!r} is not `<attribute> <op> <value>`; attributes: "
                f"{', '.join(sorted(columns))}, tags.<key>"
            )
        ident, op, raw = m.group("ident"), m.group("op"), m.group("value")
        if ident.lower().startswith(("tag.", "tags.")):
            key = ident.split(".", 1)[1].strip('`"')
            if op in ("!=", "<>"):
                # NOTE: as in MLflow, `!=` matches a missing tag: the mlflow client searches
                # models with tags.`mlflow.prompt.is_prompt` != 'true', which no model carries.
                conditions.append(~tag_condition(key, _tag_predicate("=", raw, clause)))
                continue
            conditions.append(tag_condition(key, _tag_predicate(op, raw, clause)))
            continue
        name = ident.lower()
        if name not in columns:
            raise InvalidInput(
                f"filter clause {clause!r}: unknown attribute {ident!r}; allowed: "
                f"{', '.join(sorted(columns))}, tags.<key>"
            )
        conditions.append(_compare(columns[name], op, raw, clause, name in numeric))
    return conditions


def order_keys(order_by: list[str] | None, columns: dict[str, Any], default: list[tuple[Any, bool]]) -> list[Any]:
    """`["name ASC", "version_number DESC"]` -> (column, ascending) sort keys, then `default`
    (which ends with a unique key, so page tokens are exact); unknown keys are errors."""
    keys: list[tuple[Any, bool]] = []
    for item in order_by or []:
        parts = item.split()
        if not parts or len(parts) > 2 or parts[0].lower() not in columns:
            raise InvalidInput(
                f"order_by {item!r} must be `<attribute> [ASC|DESC]` with attribute one of {', '.join(sorted(columns))}"
            )
        direction = parts[1].upper() if len(parts) == 2 else "ASC"
        if direction not in ("ASC", "DESC"):
            raise InvalidInput(f"order_by {item!r}: direction must be ASC or DESC")
        keys.append((columns[parts[0].lower()], direction == "ASC"))
    return keys + default


__all__ = ["filter_conditions", "order_keys", "quote_value"]
