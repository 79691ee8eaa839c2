"""The SQL registry store on sqlite and PostgreSQL: MLflow's semantics, errors that list what exists."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from shipyard.exceptions import AlreadyExists, InvalidInput, InvalidState, ResourceNotFound
from shipyard.registry.registration import register_version
from shipyard.registry.sql_store import SqlRegistryStore


def _ready(store: SqlRegistryStore, name: str, make: Callable[..., Path], n: int = 1) -> list[int]:
    return [register_version(store, name, make(), source="test").version for _ in range(n)]


def test_registered_model_lifecycle(store: SqlRegistryStore, model_name: str) -> None:
    created = store.create_registered_model(model_name, tags={"team": "risk"}, description="first")
    assert (created.name, created.description, created.tags) == (model_name, "first", {"team": "risk"})
    with pytest.raises(AlreadyExists, match=model_name):
        store.create_registered_model(model_name)
    store.update_registered_model(model_name, "second")
    store.set_registered_model_tag(model_name, "owner", "ana")
    store.delete_registered_model_tag(model_name, "team")
    got = store.get_registered_model(model_name)
    assert got.description == "second" and got.tags == {"owner": "ana"}
    with pytest.raises(ResourceNotFound, match="no tag 'team'"):
        store.delete_registered_model_tag(model_name, "team")
    assert [m.name for m in store.search_registered_models(f"name = '{model_name}'")] == [model_name]
    assert [
        m.name for m in store.search_registered_models(f"tags.owner = 'ana' AND name LIKE '{model_name[:7]}%'")
    ] == [model_name]
    store.delete_registered_model(model_name)
    with pytest.raises(ResourceNotFound):
        store.get_registered_model(model_name)


@pytest.mark.parametrize("bad", ["", " x", "a/b", "a@b", "x" * 300])
def test_bad_model_names_are_refused(store: SqlRegistryStore, bad: str) -> None:
    with pytest.raises(InvalidInput, match="registered model name"):
        store.create_registered_model(bad)


def test_unknown_names_and_versions_list_what_exists(
    store: SqlRegistryStore, model_name: str, model_dir: Callable[..., Path]
) -> None:
    store.create_registered_model(model_name)
    for i in range(25):  # sorted before it, and more than the message lists
        store.create_registered_model(f"0-filler-{model_name}-{i}")
    _ready(store, model_name, model_dir, 2)
    with pytest.raises(ResourceNotFound) as info:
        store.get_registered_model(model_name + "-nope")
    assert f"{model_name}-nope" in info.value.message and model_name + "," in info.value.message + ","
    with pytest.raises(ResourceNotFound, match=r"version=9\) not found; versions: 1, 2"):
        store.get_model_version(model_name, 9)
    with pytest.raises(ResourceNotFound, match="has no alias 'champion'; it has no aliases"):
        store.get_model_version_by_alias(model_name, "champion")
    with pytest.raises(InvalidInput, match="not a positive integer"):
        store.get_model_version(model_name, "two")


def test_versions_tags_descriptions_and_search(
    store: SqlRegistryStore, model_name: str, model_dir: Callable[..., Path]
) -> None:
    store.create_registered_model(model_name)
    mv = register_version(
        store,
        model_name,
        model_dir(),
        source="runs:/abc/model",
        run_id="abc",
        tags={"k": "v"},
        description="d",
        user_id="ana",
    )
    assert (mv.version, mv.status, mv.run_id, mv.user_id, mv.tags) == (1, "READY", "abc", "ana", {"k": "v"})
    assert mv.digest and mv.digest.startswith("sha256:") and mv.storage_location
    store.set_model_version_tag(model_name, 1, "k2", "v2")
    store.delete_model_version_tag(model_name, "1", "k")
    assert store.update_model_version(model_name, 1, "new").description == "new"
    assert store.get_model_version(model_name, 1).tags == {"k2": "v2"}
    _ready(store, model_name, model_dir)
    found = store.search_model_versions(f"name = '{model_name}' AND run_id = 'abc'")
    assert [v.version for v in found] == [1]
    found = store.search_model_versions(f"name='{model_name}'", order_by=["version_number ASC"])
    assert [v.version for v in found] == [1, 2]
    with pytest.raises(InvalidInput, match="unknown attribute 'colour'"):
        store.search_model_versions("colour = 'red'")


def test_deleted_version_numbers_are_not_reused(
    store: SqlRegistryStore, model_name: str, model_dir: Callable[..., Path]
) -> None:
    store.create_registered_model(model_name)
    _ready(store, model_name, model_dir, 2)
    store.delete_model_version(model_name, 2)
    assert _ready(store, model_name, model_dir) == [3]


def test_stage_transitions_archive_existing_and_latest_versions(
    store: SqlRegistryStore, model_name: str, model_dir: Callable[..., Path]
) -> None:
    store.create_registered_model(model_name)
    _ready(store, model_name, model_dir, 3)
    assert store.transition_model_version_stage(model_name, 1, "production").current_stage == "Production"
    store.transition_model_version_stage(model_name, 2, "Staging")
    store.transition_model_version_stage(model_name, 2, "PRODUCTION", archive_existing_versions=True)
    stages = {v.version: v.current_stage for v in store.search_model_versions(f"name = '{model_name}'")}
    assert stages == {1: "Archived", 2: "Production", 3: "None"}
    latest = store.get_latest_versions(model_name, ["Production", "None"])
    assert [(v.version, v.current_stage) for v in latest] == [(2, "Production"), (3, "None")]
    with pytest.raises(InvalidInput, match="allowed: None, Staging, Production, Archived"):
        store.transition_model_version_stage(model_name, 1, "Prod")
    with pytest.raises(InvalidInput, match="archive_existing_versions"):
        store.transition_model_version_stage(model_name, 1, "Archived", archive_existing_versions=True)


def test_pending_versions_cannot_be_deployed(store: SqlRegistryStore, model_name: str) -> None:
    store.create_registered_model(model_name)
    store.create_model_version(model_name, "src")
    with pytest.raises(InvalidState, match="PENDING_REGISTRATION"):
        store.transition_model_version_stage(model_name, 1, "Production")
    with pytest.raises(InvalidState, match="PENDING_REGISTRATION"):
        store.set_registered_model_alias(model_name, "champion", 1)


def test_aliases(store: SqlRegistryStore, model_name: str, model_dir: Callable[..., Path]) -> None:
    store.create_registered_model(model_name)
    _ready(store, model_name, model_dir, 2)
    store.set_registered_model_alias(model_name, "champion", 1)
    store.set_registered_model_alias(model_name, "champion", 2)
    assert store.get_model_version_by_alias(model_name, "champion").version == 2
    assert store.get_model_version(model_name, 2).aliases == ["champion"]
    assert store.get_registered_model(model_name).aliases == {"champion": 2}
    for bad in ("latest", "v3", "12", "has space", ""):
        with pytest.raises(InvalidInput, match="alias"):
            store.set_registered_model_alias(model_name, bad, 1)
    store.delete_registered_model_alias(model_name, "champion")
    with pytest.raises(ResourceNotFound, match="no alias 'champion'"):
        store.delete_registered_model_alias(model_name, "champion")
    store.set_registered_model_alias(model_name, "champion", 1)
    store.delete_model_version(model_name, 1)  # an alias goes with its version
    assert store.get_registered_model(model_name).aliases == {}


def test_rename_carries_versions_aliases_and_history(
    store: SqlRegistryStore, model_name: str, model_dir: Callable[..., Path]
) -> None:
    store.create_registered_model(model_name, tags={"a": "b"})
    _ready(store, model_name, model_dir)
    store.set_registered_model_alias(model_name, "champion", 1)
    store.set_model_version_tag(model_name, 1, "t", "u")
    new = model_name + "-renamed"
    renamed = store.rename_registered_model(model_name, new)
    assert renamed.tags == {"a": "b"} and renamed.aliases == {"champion": 1}
    assert store.get_model_version(new, 1).tags == {"t": "u"}
    assert [e.alias for e in store.get_history(new)] == ["champion"]
    with pytest.raises(ResourceNotFound):
        store.get_registered_model(model_name)
    store.create_registered_model(model_name)
    with pytest.raises(AlreadyExists, match="already exists"):
        store.rename_registered_model(new, model_name)


def test_history_records_who_what_from_and_to(
    store: SqlRegistryStore, model_name: str, model_dir: Callable[..., Path]
) -> None:
    store.create_registered_model(model_name)
    _ready(store, model_name, model_dir, 2)
    store.transition_model_version_stage(model_name, 1, "Production", user_id="ana")
    store.transition_model_version_stage(model_name, 2, "Production", True, user_id="bo")
    store.set_registered_model_alias(model_name, "champion", 2, user_id="cy")
    rows = [(e.action, e.version, e.alias, e.from_value, e.to_value, e.user_id) for e in store.get_history(model_name)]
    assert rows == [
        ("transition", 1, None, "None", "Production", "ana"),
        ("transition", 1, None, "Production", "Archived", "bo"),
        ("transition", 2, None, "None", "Production", "bo"),
        ("set_alias", 2, "champion", None, "2", "cy"),
    ]
    assert all(e.timestamp > 0 for e in store.get_history(model_name))


def test_rollback_walks_back_through_deployments(
    store: SqlRegistryStore, model_name: str, model_dir: Callable[..., Path]
) -> None:
    store.create_registered_model(model_name)
    _ready(store, model_name, model_dir, 3)
    for v in (1, 2, 3):
        store.transition_model_version_stage(model_name, v, "Production", True)
        store.set_registered_model_alias(model_name, "champion", v)

    def production() -> list[int]:
        return [
            v.version for v in store.search_model_versions(f"name = '{model_name}' AND current_stage = 'Production'")
        ]

    assert store.rollback(model_name, "production", user_id="ops").version == 2
    assert production() == [2]
    assert store.rollback(model_name, "Production").version == 1
    assert production() == [1]
    with pytest.raises(InvalidState, match="no earlier version"):
        store.rollback(model_name, "Production")
    assert store.rollback(model_name, "@champion").version == 2
    assert store.rollback(model_name, "champion").version == 1
    assert store.get_model_version_by_alias(model_name, "champion").version == 1
    last = store.get_history(model_name)[-1]
    assert (last.action, last.alias, last.from_value, last.to_value) == ("rollback", "champion", "2", "1")
    with pytest.raises(ResourceNotFound, match="no alias 'nope'"):
        store.rollback(model_name, "nope")


def test_rollback_skips_deleted_versions(
    store: SqlRegistryStore, model_name: str, model_dir: Callable[..., Path]
) -> None:
    store.create_registered_model(model_name)
    _ready(store, model_name, model_dir, 3)
    for v in (1, 2, 3):
        store.set_registered_model_alias(model_name, "champion", v)
    store.delete_model_version(model_name, 2)
    assert store.rollback(model_name, "champion").version == 1
