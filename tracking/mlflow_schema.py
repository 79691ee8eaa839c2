"""Telling an MLflow tracking database apart from a Shipyard one, before migrating it.

Shipyard keeps its own tables and alembic chain; an MLflow database has the same table names
(`experiments`, `runs`, ...) but MLflow's revisions, so alembic would fail on it with "Can't
locate revision". The stores refuse it up front with the way forward: `shipyard db import`.
"""

from __future__ import annotations

import sqlalchemy as sa

from shipyard.exceptions import InvalidState
from shipyard.redact import mask_url

MLFLOW_MARKERS: dict[str, str] = {"runs": "source_type", "experiments": "artifact_location"}
"""Table -> a column MLflow has in every schema version; Shipyard's `runs` has no `source_type`."""


def is_mlflow_schema(connection: sa.Connection) -> bool:
    """Whether the database holds MLflow's tracking tables (any MLflow 1.x-3.x schema)."""
    inspector = sa.inspect(connection)
    tables = set(inspector.get_table_names())
    if not set(MLFLOW_MARKERS) <= tables:
        return False
    return all(column in {c["name"] for c in inspector.get_columns(table)} for table, column in MLFLOW_MARKERS.items())


def refuse_mlflow_schema(connection: sa.Connection) -> None:
    """Raise `InvalidState` naming the import command when the database is MLflow's."""
    if not is_mlflow_schema(connection):
        return
    url = mask_url(connection.engine.url.render_as_string(hide_password=False))
    raise InvalidState(
        f"{url} is an MLflow tracking database; Shipyard does not open it in place. "
        f"Copy its history into a Shipyard database with: shipyard db import --from {url} "
        "[--to sqlite:///shipyard.db] [--artifacts DIR]"
    )


__all__ = ["MLFLOW_MARKERS", "is_mlflow_schema", "refuse_mlflow_schema"]
