"""Tracking tables: experiments, experiment tags, runs, params, tags, metrics, latest metrics.

Revision ID: 0001_tracking
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_tracking"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("experiment_id", BigId, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("artifact_location", sa.String(1000)),
        sa.Column("lifecycle_stage", sa.String(32), nullable=False),
        sa.Column("creation_time", sa.BigInteger),
        sa.Column("last_update_time", sa.BigInteger),
        sa.UniqueConstraint("name", name="uq_experiments_name"),
    )
    op.create_table(
        "experiment_tags",
        sa.Column("experiment_id", BigId, sa.ForeignKey("experiments.experiment_id"), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.String(5000)),
    )
    op.create_table(
        "runs",
        sa.Column("run_uuid", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(250)),
        sa.Column("experiment_id", BigId, sa.ForeignKey("experiments.experiment_id"), nullable=False),
        sa.Column("user_id", sa.String(256)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("start_time", sa.BigInteger),
        sa.Column("end_time", sa.BigInteger),
        sa.Column("deleted_time", sa.BigInteger),
        sa.Column("artifact_uri", sa.String(1000)),
        sa.Column("lifecycle_stage", sa.String(20), nullable=False),
        sa.Column("parent_run_id", sa.String(32)),
    )
    op.create_index("ix_runs_experiment_id", "runs", ["experiment_id"])
    op.create_index("ix_runs_parent_run_id", "runs", ["parent_run_id"])
    for table, size in (("params", 8000), ("tags", 8000)):
        op.create_table(
            table,
            sa.Column(
                "run_uuid",
                sa.String(32),
                sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"),
                primary_key=True,
            ),
            sa.Column("key", sa.String(250), primary_key=True),
            sa.Column("value", sa.String(size), nullable=table == "tags"),
        )
    op.create_table(
        "metrics",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("run_uuid", sa.String(32), sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Float(precision=53), nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("is_nan", sa.Boolean, nullable=False),
    )
    op.create_index("ix_metrics_run_key_step", "metrics", ["run_uuid", "key", "step"])
    op.create_table(
        "latest_metrics",
        sa.Column(
            "run_uuid",
            sa.String(32),
            sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Float(precision=53), nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("is_nan", sa.Boolean, nullable=False),
    )


def downgrade() -> None:
    for table in ("latest_metrics", "metrics", "tags", "params", "runs", "experiment_tags", "experiments"):
        op.drop_table(table)
