"""ORM rows -> the entities registry callers see (batched: one query per table, not per row)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shipyard.registry import dbmodels as m
from shipyard.registry.entities import STAGES, ModelVersion, RegisteredModel


def versions_from_rows(s: Session, rows: Sequence[m.SqlModelVersion]) -> list[ModelVersion]:
    if not rows:
        return []
    names = {r.name for r in rows}
    tags: dict[tuple[str, int], dict[str, str]] = {}
    for t in s.scalars(sa.select(m.SqlModelVersionTag).where(m.SqlModelVersionTag.name.in_(names))):
        tags.setdefault((t.name, t.version), {})[t.key] = t.value or ""
    aliases: dict[tuple[str, int], list[str]] = {}
    for a in s.scalars(
        sa.select(m.SqlRegisteredModelAlias)
        .where(m.SqlRegisteredModelAlias.name.in_(names))
        .order_by(m.SqlRegisteredModelAlias.alias)
    ):
        aliases.setdefault((a.name, a.version), []).append(a.alias)
    return [
        ModelVersion(
            name=r.name,
            version=r.version,
            creation_timestamp=r.creation_time,
            last_updated_timestamp=r.last_updated_time,
            current_stage=r.current_stage,
            description=r.description,
            user_id=r.user_id,
            source=r.source,
            run_id=r.run_id,
            status=r.status,
            status_message=r.status_message,
            tags=tags.get((r.name, r.version), {}),
            aliases=aliases.get((r.name, r.version), []),
            digest=r.digest,
            storage_location=r.storage_location,
        )
        for r in rows
    ]


def model_from_row(s: Session, row: m.SqlRegisteredModel) -> RegisteredModel:
    tags = {
        t.key: t.value or ""
        for t in s.scalars(sa.select(m.SqlRegisteredModelTag).where(m.SqlRegisteredModelTag.name == row.name))
    }
    aliases = {
        a.alias: a.version
        for a in s.scalars(sa.select(m.SqlRegisteredModelAlias).where(m.SqlRegisteredModelAlias.name == row.name))
    }
    return RegisteredModel(
        name=row.name,
        creation_timestamp=row.creation_time,
        last_updated_timestamp=row.last_updated_time,
        description=row.description,
        tags=tags,
        aliases=aliases,
        latest_versions=latest_versions(s, row.name, STAGES),
    )


def latest_versions(s: Session, name: str, stages: Sequence[str]) -> list[ModelVersion]:
    rows = []
    for stage in stages:
        row = s.scalars(
            sa.select(m.SqlModelVersion)
            .where(m.SqlModelVersion.name == name, m.SqlModelVersion.current_stage == stage)
            .order_by(m.SqlModelVersion.version.desc())
            .limit(1)
        ).first()
        if row is not None:
            rows.append(row)
    return versions_from_rows(s, rows)


__all__ = ["latest_versions", "model_from_row", "versions_from_rows"]
