"""Database plumbing shared by the tracking and registry stores: engine, sessions, migrations.

Both stores keep their tables in one database and one alembic chain (tracking's first revision is
`0001_tracking`; the registry's revisions follow it), so `migrate(engine)` brings every table up
to date at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import DeclarativeBase, Session

from shipyard.tracking.artifacts import path_to_file_uri
from shipyard.tracking.mlflow_schema import refuse_mlflow_schema

DEFAULT_ARTIFACTS_DIR = "shipyard-artifacts"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 60_000
READ_ONLY_OPTION = "shipyard_read_only"
# An arbitrary but fixed key: every process migrating one PostgreSQL database takes this lock.
_PG_ADVISORY_LOCK_KEY = int.from_bytes(hashlib.sha256(b"shipyard-migrate").digest()[:7], "big")


class Base(DeclarativeBase):
    """Declarative base of every ORM row (tracking and registry share one metadata)."""


def _is_sqlite(url: sa.URL) -> bool:
    return url.get_backend_name() == "sqlite"


def sqlite_path(url: sa.URL) -> Path | None:
    """The database file of a sqlite URL; None for in-memory databases."""
    if not _is_sqlite(url) or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).expanduser().resolve()


def default_artifact_root(db_uri: str, cwd: Path | None = None) -> str:
    """Where a SQL store puts run artifacts and model versions when the caller names no root.

    A sqlite file keeps its artifacts in a `shipyard-artifacts` folder beside it (so processes
    started from different directories agree); other databases use the working directory.
    """
    base = (cwd or Path.cwd()).resolve()
    db_file = sqlite_path(sa.make_url(db_uri))
    if db_file is not None:
        base = db_file.parent
    return path_to_file_uri(base / DEFAULT_ARTIFACTS_DIR)


def normalize_url(url: sa.URL) -> sa.URL:
    """`postgresql://` with whichever driver is installed.

    NOTE: SQLAlchemy 2.1 maps a bare `postgresql://` to psycopg 3; the `postgres` extra installs
    psycopg2, so pick the one that is importable (psycopg 3 first)."""
    if url.drivername not in ("postgresql", "postgres"):
        return url
    driver = "psycopg" if importlib.util.find_spec("psycopg") else "psycopg2"
    return url.set(drivername=f"postgresql+{driver}")


def create_engine_for(uri: str) -> sa.Engine:
    """An engine tuned for several processes writing at once.

    sqlite: WAL journal, a long busy timeout, foreign keys on, and every transaction opened with
    `BEGIN IMMEDIATE`. NOTE: in WAL mode a deferred transaction that reads and then writes can fail
    at once with "database is locked" (sqlite does not wait when waiting could deadlock); taking the
    write lock up front makes writers queue on the busy timeout instead.
    PostgreSQL and others: `pool_pre_ping` so a restarted server does not break a long training run.
    """
    url = normalize_url(sa.make_url(uri))
    if not _is_sqlite(url):
        return sa.create_engine(url, pool_pre_ping=True)
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # NOTE: hand transaction control to SQLAlchemy's "begin" event below (pysqlite's own
        # implicit BEGIN is deferred and would bring the lock-upgrade failure back).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if path is not None:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")

    return engine


@contextlib.contextmanager
def session_scope(engine: sa.Engine, *, read_only: bool = False) -> Iterator[Session]:
    """A short session: commit on success, roll back on error, always close.

    `read_only=True` promises the session only reads: on sqlite it then opens a deferred
    transaction, which in WAL mode never waits for writers (a read-only session that writes
    may fail with "database is locked")."""
    bind = engine.execution_options(**{READ_ONLY_OPTION: True}) if read_only else engine
    session = Session(bind, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextlib.contextmanager
def _migration_lock(engine: sa.Engine) -> Iterator[sa.Connection | None]:
    """Serialise migrations across processes: a file lock beside a sqlite file, an advisory lock
    on PostgreSQL. Yields the connection holding the PostgreSQL lock (migrate on it)."""
    path = sqlite_path(engine.url)
    if path is not None:
        lock_path = path.with_name(path.name + ".migrate.lock")
        with open(lock_path, "a+") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield None
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _PG_ADVISORY_LOCK_KEY})
            connection.commit()
            try:
                yield connection
            finally:
                connection.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_ADVISORY_LOCK_KEY})
                connection.commit()
        return
    yield None


def _alembic_config(connection: sa.Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def current_revision(engine: sa.Engine) -> str | None:
    """The alembic head the database is at (None before the first migration)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: sa.Engine) -> None:
    """Upgrade the database to the newest revision; idempotent and safe to run concurrently."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    with _migration_lock(engine) as locked, contextlib.ExitStack() as stack:
        connection = locked if locked is not None else stack.enter_context(engine.connect())
        config = _alembic_config(connection)
        heads = set(ScriptDirectory.from_config(config).get_heads())
        current = set(MigrationContext.configure(connection).get_current_heads())
        if current == heads:
            return
        refuse_mlflow_schema(connection)  # NOTE: else alembic fails on MLflow's revision ids
        command.upgrade(config, "heads")
        connection.commit()


__all__ = [
    "Base",
    "DEFAULT_ARTIFACTS_DIR",
    "create_engine_for",
    "current_revision",
    "default_artifact_root",
    "migrate",
    "normalize_url",
    "session_scope",
    "sqlite_path",
]
