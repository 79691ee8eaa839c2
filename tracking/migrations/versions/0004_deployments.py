"""Deployment records: which serving processes serve which versions, with an expiry.

Revision ID: 0004_deployments
Revises: 0003_run_inputs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_deployments"
down_revision = "0003_run_inputs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registry_deployments",
        sa.Column("server_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("host", sa.String(256), nullable=False),
        sa.Column("port", sa.Integer, nullable=False),
        sa.Column("pid", sa.BigInteger, nullable=False),
        sa.Column("started_at", sa.BigInteger, nullable=False),
        sa.Column("versions", sa.String(500), nullable=False),
        sa.Column("ready", sa.Boolean, nullable=False),
        sa.Column("uri", sa.String(1000)),
        sa.Column("reported_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_registry_deployments_name_expires", "registry_deployments", ["name", "expires_at"])


def downgrade() -> None:
    op.drop_index("ix_registry_deployments_name_expires", table_name="registry_deployments")
    op.drop_table("registry_deployments")
