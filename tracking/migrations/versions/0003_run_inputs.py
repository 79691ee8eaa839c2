"""Run inputs and outputs: the datasets a run used (with their input tags) and its logged models.

Revision ID: 0003_run_inputs
Revises: 0002_registry
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_run_inputs"
down_revision = "0002_registry"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _run_uuid(*, primary_key: bool = False) -> sa.Column[str]:
    return sa.Column(
        "run_uuid",
        sa.String(32),
        sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"),
        nullable=False,
        primary_key=primary_key,
    )


def upgrade() -> None:
    op.create_table(
        "run_dataset_inputs",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        _run_uuid(),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("digest", sa.String(36), nullable=False),
        sa.Column("source_type", sa.String(36), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("schema", sa.Text),
        sa.Column("profile", sa.Text),
        sa.UniqueConstraint("run_uuid", "name", "digest", name="uq_run_dataset_inputs"),
    )
    op.create_table(
        "run_dataset_input_tags",
        _run_uuid(primary_key=True),
        sa.Column("name", sa.String(500), primary_key=True),
        sa.Column("digest", sa.String(36), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("value", sa.String(500), nullable=False),
    )
    op.create_table(
        "run_model_links",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        _run_uuid(),
        sa.Column("direction", sa.String(6), nullable=False),
        sa.Column("model_id", sa.String(64), nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("run_uuid", "direction", "model_id", "step", name="uq_run_model_links"),
    )


def downgrade() -> None:
    for table in ("run_model_links", "run_dataset_input_tags", "run_dataset_inputs"):
        op.drop_table(table)
