"""Alembic environment, configured in code by `shipyard.tracking.db.migrate` (no alembic.ini).

The caller passes an open connection in `config.attributes["connection"]`; offline (SQL script)
mode is not supported.
"""

from __future__ import annotations

from alembic import context

from shipyard.tracking.db import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached by running alembic by hand
    raise RuntimeError("run migrations through shipyard.tracking.db.migrate(engine)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # NOTE: sqlite cannot ALTER most things; batch mode rebuilds tables for later revisions.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
