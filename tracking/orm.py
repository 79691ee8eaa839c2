"""ORM rows of the tracking tables. Callers never see these: the SQL store turns them into entities.

NOTE: every change here needs a migration under `migrations/versions/` (a test compares this
metadata with the migrated database).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shipyard.tracking.db import Base

# sqlite only auto-increments an INTEGER PRIMARY KEY; elsewhere 64 bits.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class SqlExperiment(Base):
    __tablename__ = "experiments"

    experiment_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.String(256), nullable=False, unique=True)
    artifact_location: Mapped[str | None] = mapped_column(sa.String(1000))
    lifecycle_stage: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    creation_time: Mapped[int | None] = mapped_column(sa.BigInteger)
    last_update_time: Mapped[int | None] = mapped_column(sa.BigInteger)


class SqlExperimentTag(Base):
    __tablename__ = "experiment_tags"

    experiment_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("experiments.experiment_id"), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(250), primary_key=True)
    value: Mapped[str | None] = mapped_column(sa.String(5000))


class SqlRun(Base):
    __tablename__ = "runs"

    run_uuid: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    name: Mapped[str | None] = mapped_column(sa.String(250))
    experiment_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("experiments.experiment_id"), nullable=False, index=True
    )
    user_id: Mapped[str | None] = mapped_column(sa.String(256))
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    start_time: Mapped[int | None] = mapped_column(sa.BigInteger)
    end_time: Mapped[int | None] = mapped_column(sa.BigInteger)
    deleted_time: Mapped[int | None] = mapped_column(sa.BigInteger)
    artifact_uri: Mapped[str | None] = mapped_column(sa.String(1000))
    lifecycle_stage: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    parent_run_id: Mapped[str | None] = mapped_column(sa.String(32), index=True)


class SqlParam(Base):
    __tablename__ = "params"

    run_uuid: Mapped[str] = mapped_column(
        sa.String(32), sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(sa.String(250), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(8000), nullable=False)


class SqlTag(Base):
    __tablename__ = "tags"

    run_uuid: Mapped[str] = mapped_column(
        sa.String(32), sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(sa.String(250), primary_key=True)
    value: Mapped[str | None] = mapped_column(sa.String(8000))


class SqlMetric(Base):
    """Full history: one row per logged value (duplicates allowed, as a training loop may repeat)."""

    __tablename__ = "metrics"
    __table_args__ = (sa.Index("ix_metrics_run_key_step", "run_uuid", "key", "step"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_uuid: Mapped[str] = mapped_column(
        sa.String(32), sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"), nullable=False
    )
    key: Mapped[str] = mapped_column(sa.String(250), nullable=False)
    # NOTE: sqlite stores NaN as NULL; NaN is kept as value 0 with is_nan set.
    value: Mapped[float] = mapped_column(sa.Float(precision=53), nullable=False)
    timestamp: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    step: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    is_nan: Mapped[bool] = mapped_column(sa.Boolean, nullable=False)


class SqlLatestMetric(Base):
    """The newest value per (run, key) by (step, timestamp, value), kept up to date on write."""

    __tablename__ = "latest_metrics"

    run_uuid: Mapped[str] = mapped_column(
        sa.String(32), sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(sa.String(250), primary_key=True)
    value: Mapped[float] = mapped_column(sa.Float(precision=53), nullable=False)
    timestamp: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    step: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    is_nan: Mapped[bool] = mapped_column(sa.Boolean, nullable=False)


class SqlDatasetInput(Base):
    """A dataset a run used (MLflow's `datasets` + `inputs` rows, kept per run): one row per
    (run, name, digest), so a dataset logged twice is kept once."""

    __tablename__ = "run_dataset_inputs"
    __table_args__ = (sa.UniqueConstraint("run_uuid", "name", "digest", name="uq_run_dataset_inputs"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_uuid: Mapped[str] = mapped_column(
        sa.String(32), sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(sa.String(500), nullable=False)
    digest: Mapped[str] = mapped_column(sa.String(36), nullable=False)
    source_type: Mapped[str] = mapped_column(sa.String(36), nullable=False)
    source: Mapped[str] = mapped_column(sa.Text, nullable=False)
    schema: Mapped[str | None] = mapped_column(sa.Text)
    profile: Mapped[str | None] = mapped_column(sa.Text)


class SqlDatasetInputTag(Base):
    """A tag of one dataset input (`mlflow.data.context`, ...). NOTE: keyed by the run, not by the
    input row, so that `sql_gc` finds it as a child of `runs` and deletes it with the run."""

    __tablename__ = "run_dataset_input_tags"

    run_uuid: Mapped[str] = mapped_column(
        sa.String(32), sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(sa.String(500), primary_key=True)
    digest: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(500), nullable=False)


class SqlModelLink(Base):
    """A logged model a run used (`direction` "input", step 0) or produced ("output", at `step`)."""

    __tablename__ = "run_model_links"
    __table_args__ = (sa.UniqueConstraint("run_uuid", "direction", "model_id", "step", name="uq_run_model_links"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_uuid: Mapped[str] = mapped_column(
        sa.String(32), sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"), nullable=False
    )
    direction: Mapped[str] = mapped_column(sa.String(6), nullable=False)
    model_id: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    step: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)


__all__ = [
    "SqlDatasetInput",
    "SqlDatasetInputTag",
    "SqlExperiment",
    "SqlExperimentTag",
    "SqlLatestMetric",
    "SqlMetric",
    "SqlModelLink",
    "SqlParam",
    "SqlRun",
    "SqlTag",
]
