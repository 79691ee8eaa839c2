"""`shipyard db upgrade URL`: bring a Shipyard database to the newest schema (`tracking/db.migrate`,
the same migrations every store runs when it opens a database)."""

from __future__ import annotations

import click
import sqlalchemy as sa
from alembic.util import CommandError

from shipyard.commands.errors import reports_errors
from shipyard.redact import mask_url
from shipyard.tracking.db import create_engine_for, current_revision, migrate
from shipyard.tracking.sql_store import SqlTrackingStore
from shipyard.tracking.store import STORES, store_class


@click.command("upgrade")
@click.argument("url")
@reports_errors
def upgrade(url: str) -> None:
    """Upgrade the database at URL (a SQLAlchemy URL: sqlite:///path.db, postgresql://...)."""
    if store_class(STORES, url, what="database") is not SqlTrackingStore:
        raise click.BadParameter(
            f"{mask_url(url)} is not a database URL (sqlite:///..., postgresql://...)", param_hint="URL"
        )
    engine = create_engine_for(url)
    try:
        before = current_revision(engine)
        migrate(engine)
        after = current_revision(engine)
    except sa.exc.OperationalError as exc:
        raise click.ClickException(f"cannot open the database {mask_url(url)}: {exc.orig}") from None
    except CommandError as exc:  # e.g. a revision of another tool's schema (an MLflow database)
        raise click.ClickException(f"cannot upgrade {mask_url(url)}: {exc}") from None
    finally:
        engine.dispose()
    if before == after:
        click.echo(f"{mask_url(url)} is up to date (revision {after}).")
    else:
        click.echo(f"{mask_url(url)} upgraded from revision {before or '(empty)'} to {after}.")


__all__ = ["upgrade"]
