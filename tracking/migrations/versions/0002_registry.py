"""Registry tables: registered models, their tags, versions, version tags, aliases, history.

Revision ID: 0002_registry
Revises: 0001_tracking
"""

from __future__ import annotations

from typing import TypedDict

import sqlalchemy as sa
from alembic import op

revision = "0002_registry"
down_revision = "0001_tracking"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class _Cascade(TypedDict):
    """The referential actions of a foreign key (typed, so `**_CASCADE` type-checks)."""

    onupdate: str
    ondelete: str


_CASCADE: _Cascade = {"onupdate": "CASCADE", "ondelete": "CASCADE"}


def upgrade() -> None:
    op.create_table(
        "registered_models",
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.Column("last_updated_time", sa.BigInteger, nullable=False),
        sa.Column("description", sa.String(5000)),
        sa.Column("last_version", sa.Integer, nullable=False),
    )
    op.create_table(
        "registered_model_tags",
        sa.Column("name", sa.String(256), sa.ForeignKey("registered_models.name", **_CASCADE), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.String(5000)),
    )
    op.create_table(
        "model_versions",
        sa.Column("name", sa.String(256), sa.ForeignKey("registered_models.name", **_CASCADE), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.Column("last_updated_time", sa.BigInteger, nullable=False),
        sa.Column("description", sa.String(5000)),
        sa.Column("user_id", sa.String(256)),
        sa.Column("current_stage", sa.String(20), nullable=False),
        sa.Column("source", sa.String(1000)),
        sa.Column("run_id", sa.String(32)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_message", sa.String(500)),
        sa.Column("digest", sa.String(80)),
        sa.Column("storage_location", sa.String(1000)),
    )
    op.create_index("ix_model_versions_name_stage", "model_versions", ["name", "current_stage"])
    op.create_table(
        "model_version_tags",
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.String(5000)),
        sa.ForeignKeyConstraint(["name", "version"], ["model_versions.name", "model_versions.version"], **_CASCADE),
    )
    op.create_table(
        "registered_model_aliases",
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("alias", sa.String(256), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(["name", "version"], ["model_versions.name", "model_versions.version"], **_CASCADE),
    )
    op.create_table(
        "registry_history",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(256), sa.ForeignKey("registered_models.name", **_CASCADE), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("version", sa.Integer),
        sa.Column("alias", sa.String(256)),
        sa.Column("from_value", sa.String(32)),
        sa.Column("to_value", sa.String(32)),
        sa.Column("user_id", sa.String(256)),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_registry_history_name", "registry_history", ["name", "id"])


def downgrade() -> None:
    op.drop_index("ix_registry_history_name", table_name="registry_history")
    op.drop_table("registry_history")
    op.drop_table("registered_model_aliases")
    op.drop_table("model_version_tags")
    op.drop_index("ix_model_versions_name_stage", table_name="model_versions")
    op.drop_table("model_versions")
    op.drop_table("registered_model_tags")
    op.drop_table("registered_models")
