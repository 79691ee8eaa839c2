"""`logged-models/search`: MLflow's filter subset over the logged-model documents, and its page tokens.

The page token is MLflow's own (`SearchLoggedModelsPaginationToken`: base64 of a JSON object with
the search's experiment ids, filter, order and offset), checked against the request it continues,
so a token from either server reads the same. Only the default order (newest first, then id) is
kept; an `order_by` is refused rather than ignored.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from shipyard.exceptions import InvalidInput
from shipyard.tracking.search import Comparison, Grammar, parse_filter

SEARCH_LOGGED_MODELS_DEFAULT = 100
"""MLflow's `SEARCH_LOGGED_MODEL_MAX_RESULTS_DEFAULT`."""
LOGGED_MODELS = Grammar(
    what="logged models",
    string_attributes=("name", "model_id", "source_run_id", "status", "model_type"),
    numeric_attributes=("creation_timestamp", "last_updated_timestamp"),
    aliases=(("creation_timestamp_ms", "creation_timestamp"), ("last_updated_timestamp_ms", "last_updated_timestamp")),
    kinds=("tag", "attribute", "param"),
    null_kinds=("tag", "param"),
    list_attributes=("model_id", "name"),
)
_NUMERIC_FIELDS = {"creation_timestamp": "creation_timestamp_ms", "last_updated_timestamp": "last_updated_timestamp_ms"}


def _value_of(model: dict[str, Any], clause: Comparison) -> Any:
    if clause.kind == "tag":
        return model["tags"].get(clause.key)
    if clause.kind == "param":
        return model["params"].get(clause.key)
    return model.get(_NUMERIC_FIELDS.get(clause.key, clause.key))


def _like(pattern: str, text: str, *, ignore_case: bool) -> bool:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, re.IGNORECASE if ignore_case else 0) is not None


def _matches(model: dict[str, Any], clause: Comparison) -> bool:
    value, op, wanted = _value_of(model, clause), clause.op, clause.value
    if op in ("IS NULL", "IS NOT NULL"):
        return (value is None) == (op == "IS NULL")
    if op == "!=":
        return bool(value != wanted)  # NOTE: as in MLflow, a missing value is "not equal"
    if value is None:
        return False
    if op in ("IN", "NOT IN"):
        listed = wanted if isinstance(wanted, tuple) else ()
        return (str(value) in listed) == (op == "IN")
    if op in ("LIKE", "ILIKE"):
        return _like(str(wanted), str(value), ignore_case=op == "ILIKE")
    compared = {
        "=": value == wanted,
        "<": value < wanted,
        "<=": value <= wanted,
        ">": value > wanted,
        ">=": value >= wanted,
    }
    return bool(compared[op])


def _encode(experiment_ids: list[str], filter_string: str | None, offset: int) -> str:
    token = {"experiment_ids": experiment_ids, "filter_string": filter_string, "order_by": None, "offset": offset}
    return base64.b64encode(json.dumps(token).encode()).decode()


def _offset(token: str | None, experiment_ids: list[str], filter_string: str | None) -> int:
    if not token:
        return 0
    try:
        data = json.loads(base64.b64decode(token.encode(), validate=True).decode())
    except (binascii.Error, UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidInput(f"Invalid page token: {token[:40]}") from None
    if not isinstance(data, dict) or not isinstance(data.get("offset", 0), int):
        raise InvalidInput(f"Invalid page token: {token[:40]}")
    if data.get("experiment_ids") != experiment_ids:
        raise InvalidInput(
            "Experiment IDs in the page token do not match the requested experiment IDs. "
            f"Expected: {experiment_ids}. Found: {data.get('experiment_ids')}"
        )
    if (data.get("filter_string") or None) != filter_string:
        raise InvalidInput(
            "Filter string in the page token does not match the requested filter string. "
            f"Expected: {filter_string}. Found: {data.get('filter_string')}"
        )
    return int(data.get("offset") or 0)


def search_page(
    models: list[dict[str, Any]],
    experiment_ids: list[str],
    filter_string: str | None,
    max_results: int,
    page_token: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of `models` (already in the default order) and the token of the next, if any."""
    clauses = parse_filter(filter_string, LOGGED_MODELS)
    found = [m for m in models if all(_matches(m, clause) for clause in clauses)]
    offset = _offset(page_token, experiment_ids, filter_string)
    page = found[offset : offset + max_results]
    more = len(found) > offset + max_results
    return page, _encode(experiment_ids, filter_string, offset + max_results) if more else None


__all__ = ["LOGGED_MODELS", "SEARCH_LOGGED_MODELS_DEFAULT", "search_page"]
