"""Page tokens for every search (runs, experiments, registered models, model versions).

A search result is a `PagedList`: a plain list with `.token`, set when `max_results` cut the
result short (MLflow's `PagedList`). Tokens are keyset tokens: base64 of the last row's order
keys and a fingerprint of the query. The next page is "rows after those keys" in the same
order, so rows inserted or deleted meanwhile never shift a page (an offset would repeat or skip
rows), and a token from another query is refused instead of silently paging something else.
The SQL side (`sql_paging.py`) ends every order with a unique key, so "after" is exact.

NOTE: no SQLAlchemy here: `tracking/store.py` imports this, and serving imports the store table.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from shipyard.exceptions import InvalidInput

T = TypeVar("T")


class PagedList(list[T]):
    """A list of search results and `token`, the page token of the next page (None: the last)."""

    def __init__(self, items: Iterable[T] = (), token: str | None = None) -> None:
        super().__init__(items)
        self.token = token


def _fingerprint(query: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(query, sort_keys=True, default=str).encode()).hexdigest()[:16]


def encode_token(query: dict[str, Any], keys: Sequence[Any]) -> str:
    payload = json.dumps({"q": _fingerprint(query), "k": list(keys)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_token(page_token: str | None, query: dict[str, Any], key_count: int) -> list[Any] | None:
    """The order keys a token carries (None for the first page); a token this query did not
    issue is `InvalidInput` naming `page_token`."""
    if page_token is None or page_token == "":
        return None
    bad = InvalidInput(f"page_token {page_token[:40]!r} is not a page token issued for this search")
    if not isinstance(page_token, str):
        raise bad
    try:
        payload = json.loads(base64.urlsafe_b64decode(page_token + "=" * (-len(page_token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad from None
    if not isinstance(payload, dict) or payload.get("q") != _fingerprint(query):
        raise bad
    keys = payload.get("k")
    if not isinstance(keys, list) or len(keys) != key_count:
        raise bad
    if not all(k is None or isinstance(k, (str, int, float)) for k in keys):
        raise bad
    return keys


def check_max_results(max_results: Any, limit: int | None = None) -> int:
    """A positive integer (at most `limit`, when given), else `InvalidInput` naming max_results."""
    if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
        raise InvalidInput(f"max_results must be a positive integer, got {max_results!r}")
    if limit is not None and max_results > limit:
        raise InvalidInput(f"max_results {max_results} is over the limit of {limit}")
    return max_results


def every_page(fetch: Callable[[int, str | None], PagedList[T]], page_size: int, limit: int | None = None) -> list[T]:
    """Up to `limit` results (None: all of them) of a search, following its page tokens:
    `fetch(max_results, page_token)` asks for one page."""
    found: list[T] = []
    token: str | None = None
    while limit is None or len(found) < limit:
        page = fetch(page_size if limit is None else min(page_size, limit - len(found)), token)
        found += page
        token = page.token
        if not token:
            break
    return found


__all__ = [
    "PagedList",
    "check_max_results",
    "decode_token",
    "encode_token",
    "every_page",
]
