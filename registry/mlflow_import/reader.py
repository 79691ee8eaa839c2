"""Reading an MLflow tracking database with SQLAlchemy Core reflection (MLflow 1.x-3.x schemas).

Only the tables and columns MLflow has had for a long time are required; the ones that came and
went between versions (`workspace`, `storage_location`, `logged_models`, `inputs`, aliases) are
read when present. The source is opened read-only in spirit: a plain engine, no pragmas, no
migrations, nothing written.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from shipyard.exceptions import InvalidInput, ResourceNotFound
from shipyard.redact import mask_url
from shipyard.tracking.db import normalize_url, sqlite_path
from shipyard.tracking.mlflow_schema import is_mlflow_schema

REQUIRED_TABLES = ("experiments", "runs", "params", "metrics", "tags")
OPTIONAL_TABLES = (
    "experiment_tags",
    "datasets",
    "inputs",
    "input_tags",
    "logged_models",
    "registered_models",
    "registered_model_tags",
    "model_versions",
    "model_version_tags",
    "registered_model_aliases",
)
DEFAULT_WORKSPACE = "default"
"""MLflow 3's workspaces: only the default one is imported (Shipyard has no workspaces)."""

Row = sa.RowMapping


class MlflowDatabase:
    """The tables of one MLflow database; `rows(table)` yields plain mappings."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.shown = mask_url(url)
        try:
            parsed = normalize_url(sa.make_url(url))
        except sa.exc.ArgumentError:
            raise InvalidInput(
                f"--from {self.shown!r} is not a SQLAlchemy database URL (sqlite:///mlflow.db, ...)"
            ) from None
        path = sqlite_path(parsed)
        if parsed.get_backend_name() == "sqlite" and (path is None or not path.is_file()):
            # NOTE: sqlite would create an empty file and then report "no tables".
            raise ResourceNotFound(f"--from {self.shown}: no sqlite database file at {str(path or ':memory:')!r}")
        self.engine = sa.create_engine(parsed)
        self.metadata = sa.MetaData()
        try:
            with self.engine.connect() as connection:
                if not is_mlflow_schema(connection):
                    tables = sorted(sa.inspect(connection).get_table_names())
                    raise InvalidInput(
                        f"--from {self.shown} is not an MLflow tracking database (it has "
                        + (f"tables {', '.join(tables[:12])}" if tables else "no tables")
                        + "; an MLflow database has experiments, runs, params, metrics and tags)"
                    )
                present = set(sa.inspect(connection).get_table_names())
                wanted = [t for t in (*REQUIRED_TABLES, *OPTIONAL_TABLES) if t in present]
                missing = [t for t in REQUIRED_TABLES if t not in present]
                if missing:
                    raise InvalidInput(f"--from {self.shown}: MLflow tables {', '.join(missing)} are missing")
                self.metadata.reflect(connection, only=wanted)
        except sa.exc.OperationalError as exc:
            self.engine.dispose()
            raise InvalidInput(f"--from {self.shown}: cannot open the database: {str(exc.orig).strip()}") from None
        except BaseException:
            self.engine.dispose()
            raise

    def close(self) -> None:
        self.engine.dispose()

    def has(self, table: str) -> bool:
        return table in self.metadata.tables

    def columns(self, table: str) -> set[str]:
        return set(self.metadata.tables[table].c.keys()) if self.has(table) else set()

    def rows(self, table: str, order_by: tuple[str, ...] = (), **equal: Any) -> Iterator[Row]:
        """Every row of `table` (none when MLflow's version lacks it), in the default workspace,
        filtered by column equality and ordered by the given columns that exist."""
        if not self.has(table):
            return
        t = self.metadata.tables[table]
        statement = sa.select(t)
        if "workspace" in t.c:
            statement = statement.where(t.c.workspace == DEFAULT_WORKSPACE)
        for column, value in equal.items():
            statement = statement.where(t.c[column] == value)
        statement = statement.order_by(*(t.c[c] for c in order_by if c in t.c))
        with self.engine.connect() as connection:
            yield from connection.execute(statement).mappings()

    def count(self, table: str) -> int:
        if not self.has(table):
            return 0
        t = self.metadata.tables[table]
        statement = sa.select(sa.func.count()).select_from(t)
        if "workspace" in t.c:
            statement = statement.where(t.c.workspace == DEFAULT_WORKSPACE)
        with self.engine.connect() as connection:
            return int(connection.execute(statement).scalar_one())

    def other_workspaces(self) -> list[str]:
        """MLflow 3 workspaces besides the default one (their records are not imported)."""
        t = self.metadata.tables["experiments"]
        if "workspace" not in t.c:
            return []
        statement = sa.select(t.c.workspace).where(t.c.workspace != DEFAULT_WORKSPACE).distinct()
        with self.engine.connect() as connection:
            return sorted(str(w) for w in connection.execute(statement).scalars())


__all__ = ["DEFAULT_WORKSPACE", "MlflowDatabase", "OPTIONAL_TABLES", "REQUIRED_TABLES", "Row"]
