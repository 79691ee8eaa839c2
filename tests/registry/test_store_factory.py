"""Both store factories read their scheme table through one helper: one store per URI per process,
and an unknown scheme is refused with the kind of URI and the schemes that are known."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.exceptions import InvalidInput
from shipyard.registry.sql_store import SqlRegistryStore
from shipyard.registry.store import get_registry_store
from shipyard.tracking.store import get_tracking_store


def test_unknown_scheme_names_the_kind_and_the_known_schemes() -> None:
    with pytest.raises(InvalidInput, match=r"^tracking URI scheme 'ftp' is not supported; known schemes: http, "):
        get_tracking_store("ftp://host/db")
    with pytest.raises(InvalidInput, match=r"^registry URI scheme 'ftp' is not supported; known schemes: http, "):
        get_registry_store("ftp://host/db")


def test_one_registry_store_per_uri_and_root(tmp_path: Path) -> None:
    uri, root = f"sqlite:///{tmp_path / 'shipyard.db'}", (tmp_path / "artifacts").as_uri()
    store = get_registry_store(uri, root)
    try:
        assert isinstance(store, SqlRegistryStore)
        assert get_registry_store(uri, root) is store
        assert store.artifact_root == root
    finally:
        store.close()
