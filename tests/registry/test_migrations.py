"""The registry's ORM rows and its migration `0002_registry` describe the same tables."""

from __future__ import annotations

import sqlalchemy as sa

from shipyard.registry import dbmodels
from shipyard.registry.sql_store import SqlRegistryStore
from shipyard.tracking import orm
from shipyard.tracking.db import Base, current_revision

REGISTRY_TABLES = {
    "registered_models",
    "registered_model_tags",
    "model_versions",
    "model_version_tags",
    "registered_model_aliases",
    "registry_history",
}


def test_migrated_database_matches_the_orm_rows(store: SqlRegistryStore) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    assert dbmodels.SqlModelVersion.__table__ is not None and orm.SqlRun.__table__ is not None
    assert set(Base.metadata.tables) >= REGISTRY_TABLES
    with store.engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    registry_diffs = [d for d in diffs if REGISTRY_TABLES & set(_tables(d))]
    assert registry_diffs == []
    assert current_revision(store.engine) is not None
    assert set(sa.inspect(store.engine).get_table_names()) >= REGISTRY_TABLES


def _tables(diff: object) -> list[str]:
    """Table names a diff entry mentions (entries are tuples or lists of tuples)."""
    found: list[str] = []
    items = diff if isinstance(diff, list) else [diff]
    for item in items:
        for part in item if isinstance(item, tuple) else ():
            name = getattr(part, "name", None) if not isinstance(part, str) else part
            table = getattr(part, "table", None)
            if table is not None:
                found.append(table.name)
            elif isinstance(name, str):
                found.append(name)
    return found
