"""Database plumbing: migrations match the ORM, run once, and sqlite is set up for many writers."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

import shipyard.tracking.orm  # noqa: F401  (registers the tracking tables on Base.metadata)
from shipyard.tracking.db import MIGRATIONS_DIR, Base, create_engine_for, current_revision, migrate, session_scope

TRACKING_TABLES = {"experiments", "experiment_tags", "runs", "params", "tags", "metrics", "latest_metrics"} | {
    "run_dataset_inputs",
    "run_dataset_input_tags",
    "run_model_links",
}


def _head() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"the migration chain has several heads: {heads}"
    return heads[0]


def _table_of(diff: object) -> str | None:
    """The table a compare_metadata entry is about (`modify_*` entries come wrapped in a list)."""
    entry = diff[0] if isinstance(diff, list) else diff
    _, *args = entry  # type: ignore[misc]
    for arg in args:
        if isinstance(arg, sa.Table):
            return str(arg.name)
        table = getattr(arg, "table", None)
        if isinstance(table, sa.Table):
            return str(table.name)
    return args[1] if len(args) > 1 and isinstance(args[1], str) else None


def test_migrations_create_what_the_orm_describes(tmp_path: Path, store_uri: str) -> None:
    engine = create_engine_for(store_uri)
    migrate(engine)
    migrate(engine)  # idempotent
    assert current_revision(engine) == _head()
    with engine.connect() as connection:
        assert set(sa.inspect(connection).get_table_names()) >= TRACKING_TABLES
        diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    tracking_diffs = [d for d in diffs if _table_of(d) in TRACKING_TABLES]
    assert tracking_diffs == []
    engine.dispose()


def test_sqlite_is_set_up_for_concurrent_writers(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'sub' / 'x.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    migrate(engine)
    with session_scope(engine) as session:
        session.execute(sa.text("INSERT INTO experiments (name, lifecycle_stage) VALUES ('x', 'active')"))
    try:
        with session_scope(engine) as session:
            session.execute(sa.text("INSERT INTO experiments (name, lifecycle_stage) VALUES ('y', 'active')"))
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    with session_scope(engine) as session:
        names = session.execute(sa.text("SELECT name FROM experiments")).scalars().all()
    assert names == ["x"]
    engine.dispose()
