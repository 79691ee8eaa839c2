"""Page tokens on registry searches, on the real SQL store (sqlite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest

from shipyard.exceptions import InvalidInput
from shipyard.registry.sql_store import SqlRegistryStore


def _all_pages(search: Any, **kwargs: Any) -> list[list[Any]]:
    pages, token = [], None
    while True:
        page = search(max_results=10, page_token=token, **kwargs)
        pages.append(list(page))
        token = page.token
        if token is None:
            return pages


def test_registered_models_in_three_pages(store: SqlRegistryStore, model_name: str) -> None:
    names = [f"{model_name}-{i:02d}" for i in range(25)]
    for name in names:
        store.create_registered_model(name)
    pages = _all_pages(store.search_registered_models, filter_string=f"name LIKE '{model_name}-%'")
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [m.name for m in sum(pages, [])] == names
    # a model created after the first page, sorting inside it, neither repeats nor shifts a row
    first = store.search_registered_models(f"name LIKE '{model_name}-%'", 10)
    store.create_registered_model(f"{model_name}-00a")
    rest = store.search_registered_models(f"name LIKE '{model_name}-%'", 100, None, first.token)
    assert [m.name for m in first] + [m.name for m in rest] == names


def test_model_versions_in_three_pages(store: SqlRegistryStore, model_name: str) -> None:
    store.create_registered_model(model_name)
    for i in range(25):
        store.create_model_version(model_name, f"file:///tmp/source-{i}", run_id=f"run{i}")
    pages = _all_pages(store.search_model_versions, filter_string=f"name = '{model_name}'")
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [mv.version for mv in sum(pages, [])] == list(range(25, 0, -1))  # newest version first
    ordered = _all_pages(
        store.search_model_versions, filter_string=f"name = '{model_name}'", order_by=["version_number ASC"]
    )
    assert [mv.version for mv in sum(ordered, [])] == list(range(1, 26))


def test_a_token_from_another_search_is_refused(store: SqlRegistryStore, model_name: str) -> None:
    store.create_registered_model(f"{model_name}-a")
    store.create_registered_model(f"{model_name}-b")
    token = store.search_registered_models(f"name LIKE '{model_name}-%'", 1).token
    assert token is not None
    with pytest.raises(InvalidInput, match="page_token"):
        store.search_model_versions(None, 1, None, token)
    with pytest.raises(InvalidInput, match="page_token"):
        store.search_registered_models(None, 1, None, "%%%")


def test_not_equal_on_a_tag_matches_models_without_it(store: SqlRegistryStore, model_name: str) -> None:
    """The mlflow client filters with tags.`mlflow.prompt.is_prompt` != 'true' on every search."""
    store.create_registered_model(f"{model_name}-plain")
    store.create_registered_model(f"{model_name}-prompt", tags={"mlflow.prompt.is_prompt": "true"})
    store.create_registered_model(f"{model_name}-other", tags={"mlflow.prompt.is_prompt": "false"})
    found = store.search_registered_models(
        f"name LIKE '{model_name}-%' AND tags.`mlflow.prompt.is_prompt` != 'true'", 10
    )
    assert sorted(m.name for m in found) == [f"{model_name}-other", f"{model_name}-plain"]
