"""ORM rows of the registry tables (same database and metadata as tracking's rows).

NOTE: every change here needs a migration under `tracking/migrations/versions/` (the registry's
revisions follow tracking's in one chain; `0002_registry` created these tables).
Child tables reference the model name with ON UPDATE CASCADE so a rename is one UPDATE.
"""

from __future__ import annotations

from typing import TypedDict

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shipyard.tracking.db import Base

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class _Cascade(TypedDict):
    """The referential actions of a foreign key (typed, so `**_CASCADE` type-checks)."""

    onupdate: str
    ondelete: str


_CASCADE: _Cascade = {"onupdate": "CASCADE", "ondelete": "CASCADE"}


class SqlRegisteredModel(Base):
    __tablename__ = "registered_models"

    name: Mapped[str] = mapped_column(sa.String(256), primary_key=True)
    creation_time: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    last_updated_time: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    description: Mapped[str | None] = mapped_column(sa.String(5000))
    # NOTE: version numbers come from this counter (bumped under the row's lock), never from
    # max(version)+1, so numbers of deleted versions are never handed out again.
    last_version: Mapped[int] = mapped_column(sa.Integer, nullable=False)


class SqlRegisteredModelTag(Base):
    __tablename__ = "registered_model_tags"

    name: Mapped[str] = mapped_column(
        sa.String(256), sa.ForeignKey("registered_models.name", **_CASCADE), primary_key=True
    )
    key: Mapped[str] = mapped_column(sa.String(250), primary_key=True)
    value: Mapped[str | None] = mapped_column(sa.String(5000))


class SqlModelVersion(Base):
    __tablename__ = "model_versions"
    __table_args__ = (sa.Index("ix_model_versions_name_stage", "name", "current_stage"),)

    name: Mapped[str] = mapped_column(
        sa.String(256), sa.ForeignKey("registered_models.name", **_CASCADE), primary_key=True
    )
    version: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    creation_time: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    last_updated_time: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    description: Mapped[str | None] = mapped_column(sa.String(5000))
    user_id: Mapped[str | None] = mapped_column(sa.String(256))
    current_stage: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    source: Mapped[str | None] = mapped_column(sa.String(1000))
    run_id: Mapped[str | None] = mapped_column(sa.String(32))
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    status_message: Mapped[str | None] = mapped_column(sa.String(500))
    digest: Mapped[str | None] = mapped_column(sa.String(80))
    storage_location: Mapped[str | None] = mapped_column(sa.String(1000))


class SqlModelVersionTag(Base):
    __tablename__ = "model_version_tags"
    __table_args__ = (
        sa.ForeignKeyConstraint(["name", "version"], ["model_versions.name", "model_versions.version"], **_CASCADE),
    )

    name: Mapped[str] = mapped_column(sa.String(256), primary_key=True)
    version: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    key: Mapped[str] = mapped_column(sa.String(250), primary_key=True)
    value: Mapped[str | None] = mapped_column(sa.String(5000))


class SqlRegisteredModelAlias(Base):
    __tablename__ = "registered_model_aliases"
    __table_args__ = (
        sa.ForeignKeyConstraint(["name", "version"], ["model_versions.name", "model_versions.version"], **_CASCADE),
    )

    name: Mapped[str] = mapped_column(sa.String(256), primary_key=True)
    alias: Mapped[str] = mapped_column(sa.String(256), primary_key=True)
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)


class SqlRegistryHistory(Base):
    """Append-only: rows are inserted, never updated (a rename follows through the FK)."""

    __tablename__ = "registry_history"
    __table_args__ = (sa.Index("ix_registry_history_name", "name", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(
        sa.String(256), sa.ForeignKey("registered_models.name", **_CASCADE), nullable=False
    )
    action: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    version: Mapped[int | None] = mapped_column(sa.Integer)
    alias: Mapped[str | None] = mapped_column(sa.String(256))
    from_value: Mapped[str | None] = mapped_column(sa.String(32))
    to_value: Mapped[str | None] = mapped_column(sa.String(32))
    user_id: Mapped[str | None] = mapped_column(sa.String(256))
    timestamp: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)


class SqlDeployment(Base):
    """One serving process's report for one model; replaced by each report, gone after `expires_at`.

    NOTE: no foreign key to `registered_models`: a server keeps reporting what it serves even
    while the model is renamed or deleted, and its rows expire by themselves."""

    __tablename__ = "registry_deployments"
    __table_args__ = (sa.Index("ix_registry_deployments_name_expires", "name", "expires_at"),)

    server_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(256), primary_key=True)
    host: Mapped[str] = mapped_column(sa.String(256), nullable=False)
    port: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    pid: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    started_at: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    versions: Mapped[str] = mapped_column(sa.String(500), nullable=False)
    ready: Mapped[bool] = mapped_column(sa.Boolean, nullable=False)
    uri: Mapped[str | None] = mapped_column(sa.String(1000))
    reported_at: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    expires_at: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)


__all__ = [
    "SqlDeployment",
    "SqlModelVersion",
    "SqlModelVersionTag",
    "SqlRegisteredModel",
    "SqlRegisteredModelAlias",
    "SqlRegisteredModelTag",
    "SqlRegistryHistory",
]
