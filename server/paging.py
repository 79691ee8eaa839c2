"""The REST side of search pages: `max_results` and `page_token` in, `next_page_token` out.

The stores make and check the tokens (`shipyard.tracking.paging`); the server only passes them
through, so a token from `shipyard server` and one from the Python API are the same thing.
"""

from __future__ import annotations

from typing import Any

from shipyard.server.protocol import SEARCH_MAX, Fields, check_max_results


def page_request(fields: Fields, default_size: int) -> tuple[int, str | None]:
    """(max_results, page_token) of a search request; a bad value is a 400 naming the field."""
    size = check_max_results(int(fields.int("max_results", default_size)), SEARCH_MAX)
    token = fields.str("page_token")
    return size, token


def next_page(found: Any) -> dict[str, str]:
    """`{"next_page_token": ...}` when the store's `PagedList` says more follow, else nothing."""
    token = getattr(found, "token", None)
    return {"next_page_token": token} if token else {}


__all__ = ["next_page", "page_request"]
