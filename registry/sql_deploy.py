"""Deployment operations of the SQL registry store: stages, aliases, history and rollback.

Each operation runs in one transaction that first locks the registered model's row, so two
pipelines moving versions of one model at once are applied one after the other, and each
history row records what the state really was before that operation.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shipyard.exceptions import InvalidInput, InvalidState, ResourceNotFound
from shipyard.registry import dbmodels as m
from shipyard.registry.entities import (
    HISTORY_DELETE_ALIAS,
    HISTORY_ROLLBACK,
    HISTORY_SET_ALIAS,
    HISTORY_TRANSITION,
    STAGE_ARCHIVED,
    STAGE_PRODUCTION,
    STAGE_STAGING,
    STAGES,
    STATUS_READY,
    HistoryEntry,
    ModelVersion,
    canonical_stage,
)
from shipyard.registry.history import alias_stack, previous_version, stage_stack
from shipyard.registry.validation import now_ms

_ALIAS = re.compile(r"^[A-Za-z0-9_\-]{1,255}$")
_RESERVED_ALIAS = re.compile(r"^(latest|v\d+|version\d+|\d+)$", re.IGNORECASE)


def validate_alias(alias: str) -> str:
    """Aliases appear in `models:/<name>@<alias>`; `latest` and version-like names are reserved."""
    if not isinstance(alias, str) or not _ALIAS.match(alias):
        raise InvalidInput(f"alias {alias!r} is not allowed: use 1-255 letters, digits, '_' or '-'")
    if _RESERVED_ALIAS.match(alias):
        raise InvalidInput(f"alias {alias!r} is reserved (it reads like 'latest' or a version number); choose another")
    return alias


class SqlDeployMixin(ABC):
    """Mixed into `SqlRegistryStore`, which provides the row helpers declared abstract here."""

    @abstractmethod
    def _session(self) -> AbstractContextManager[Session]: ...

    @abstractmethod
    def _lock_model(self, s: Session, name: str) -> m.SqlRegisteredModel: ...

    @abstractmethod
    def _model_not_found(self, s: Session, name: str) -> ResourceNotFound: ...

    @abstractmethod
    def _version_row(self, s: Session, name: str, version: int | str) -> m.SqlModelVersion: ...

    @abstractmethod
    def _version(self, s: Session, row: m.SqlModelVersion) -> ModelVersion: ...

    def _history_row(
        self,
        s: Session,
        name: str,
        action: str,
        *,
        version: int | None,
        alias: str | None = None,
        from_value: str | None,
        to_value: str | None,
        user_id: str | None,
        timestamp: int,
    ) -> None:
        s.add(
            m.SqlRegistryHistory(
                name=name,
                action=action,
                version=version,
                alias=alias,
                from_value=from_value,
                to_value=to_value,
                user_id=user_id,
                timestamp=timestamp,
            )
        )

    def _move_to_stage(
        self,
        s: Session,
        name: str,
        row: m.SqlModelVersion,
        stage: str,
        archive: bool,
        action: str,
        user_id: str | None,
    ) -> None:
        if row.status != STATUS_READY:
            raise InvalidState(
                f"model {name!r} version {row.version} is {row.status}; only READY versions change stage"
            )
        t = now_ms()
        if archive:
            others = s.scalars(
                sa.select(m.SqlModelVersion)
                .where(
                    m.SqlModelVersion.name == name,
                    m.SqlModelVersion.current_stage == stage,
                    m.SqlModelVersion.version != row.version,
                )
                .order_by(m.SqlModelVersion.version)
            ).all()
            for other in others:
                other.current_stage, other.last_updated_time = STAGE_ARCHIVED, t
                self._history_row(
                    s,
                    name,
                    action,
                    version=other.version,
                    from_value=stage,
                    to_value=STAGE_ARCHIVED,
                    user_id=user_id,
                    timestamp=t,
                )
        self._history_row(
            s,
            name,
            action,
            version=row.version,
            from_value=row.current_stage,
            to_value=stage,
            user_id=user_id,
            timestamp=t,
        )
        row.current_stage, row.last_updated_time = stage, t
        s.flush()

    def transition_model_version_stage(
        self,
        name: str,
        version: int | str,
        stage: str,
        archive_existing_versions: bool = False,
        *,
        user_id: str | None = None,
    ) -> ModelVersion:
        target = canonical_stage(stage)
        if archive_existing_versions and target not in (STAGE_STAGING, STAGE_PRODUCTION):
            raise InvalidInput(f"archive_existing_versions applies to stages Staging and Production, not {target!r}")
        with self._session() as s:
            self._lock_model(s, name)
            row = self._version_row(s, name, version)
            self._move_to_stage(s, name, row, target, archive_existing_versions, HISTORY_TRANSITION, user_id)
            return self._version(s, row)

    def set_registered_model_alias(
        self, name: str, alias: str, version: int | str, *, user_id: str | None = None
    ) -> None:
        validate_alias(alias)
        with self._session() as s:
            self._lock_model(s, name)
            row = self._version_row(s, name, version)
            if row.status != STATUS_READY:
                raise InvalidState(
                    f"model {name!r} version {row.version} is {row.status}; aliases point at READY versions only"
                )
            current = s.get(m.SqlRegisteredModelAlias, (name, alias))
            before = str(current.version) if current is not None else None
            if current is None:
                s.add(m.SqlRegisteredModelAlias(name=name, alias=alias, version=row.version))
            else:
                current.version = row.version
            self._history_row(
                s,
                name,
                HISTORY_SET_ALIAS,
                version=row.version,
                alias=alias,
                from_value=before,
                to_value=str(row.version),
                user_id=user_id,
                timestamp=now_ms(),
            )

    def delete_registered_model_alias(self, name: str, alias: str, *, user_id: str | None = None) -> None:
        with self._session() as s:
            self._lock_model(s, name)
            current = s.get(m.SqlRegisteredModelAlias, (name, alias))
            if current is None:
                raise self._alias_not_found(s, name, alias)
            before = current.version
            s.delete(current)
            self._history_row(
                s,
                name,
                HISTORY_DELETE_ALIAS,
                version=None,
                alias=alias,
                from_value=str(before),
                to_value=None,
                user_id=user_id,
                timestamp=now_ms(),
            )

    def _alias_not_found(self, s: Session, name: str, alias: str) -> ResourceNotFound:
        aliases = s.execute(
            sa.select(m.SqlRegisteredModelAlias.alias, m.SqlRegisteredModelAlias.version)
            .where(m.SqlRegisteredModelAlias.name == name)
            .order_by(m.SqlRegisteredModelAlias.alias)
        ).all()
        listed = ", ".join(f"@{a} -> {v}" for a, v in aliases)
        return ResourceNotFound(
            f"registered model {name!r} has no alias {alias!r}; "
            + (f"aliases: {listed}" if aliases else "it has no aliases")
        )

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        with self._session() as s:
            if s.get(m.SqlRegisteredModel, name) is None:
                raise self._model_not_found(s, name)
            current = s.get(m.SqlRegisteredModelAlias, (name, alias))
            if current is None:
                raise self._alias_not_found(s, name, alias)
            return self._version(s, self._version_row(s, name, current.version))

    def _history(self, s: Session, name: str) -> list[HistoryEntry]:
        h = m.SqlRegistryHistory
        return [
            HistoryEntry(
                id=r.id,
                name=r.name,
                action=r.action,
                version=r.version,
                alias=r.alias,
                from_value=r.from_value,
                to_value=r.to_value,
                user_id=r.user_id,
                timestamp=r.timestamp,
            )
            for r in s.scalars(sa.select(h).where(h.name == name).order_by(h.id))
        ]

    def get_history(self, name: str) -> list[HistoryEntry]:
        with self._session() as s:
            if s.get(m.SqlRegisteredModel, name) is None:
                raise self._model_not_found(s, name)
            return self._history(s, name)

    def rollback(self, name: str, stage_or_alias: str, *, user_id: str | None = None) -> ModelVersion:
        """A stage name (any case) rolls back that stage; `@x` or any other word an alias."""
        target = stage_or_alias.strip()
        is_alias = target.startswith("@") or target.lower() not in (st.lower() for st in STAGES)
        with self._session() as s:
            self._lock_model(s, name)
            history = self._history(s, name)

            def usable(version: int) -> bool:
                row = s.get(m.SqlModelVersion, (name, version))
                return row is not None and row.status == STATUS_READY

            if is_alias:
                alias = target.lstrip("@")
                current = s.get(m.SqlRegisteredModelAlias, (name, alias))
                if current is None and not any(e.alias == alias for e in history):
                    raise self._alias_not_found(s, name, alias)
                live = {current.version} if current is not None else set()
                version = previous_version(
                    alias_stack(history, alias), live, usable, what=f"alias {alias!r} of model {name!r}"
                )
                before = str(current.version) if current is not None else None
                if current is None:
                    s.add(m.SqlRegisteredModelAlias(name=name, alias=alias, version=version))
                else:
                    current.version = version
                self._history_row(
                    s,
                    name,
                    HISTORY_ROLLBACK,
                    version=version,
                    alias=alias,
                    from_value=before,
                    to_value=str(version),
                    user_id=user_id,
                    timestamp=now_ms(),
                )
                s.flush()
                return self._version(s, self._version_row(s, name, version))
            stage = canonical_stage(target)
            if stage not in (STAGE_STAGING, STAGE_PRODUCTION):
                raise InvalidInput(f"rollback applies to stages Staging and Production or an alias, not {stage!r}")
            live_rows = s.scalars(
                sa.select(m.SqlModelVersion.version).where(
                    m.SqlModelVersion.name == name, m.SqlModelVersion.current_stage == stage
                )
            ).all()
            version = previous_version(
                stage_stack(history, stage), set(live_rows), usable, what=f"stage {stage} of model {name!r}"
            )
            row = self._version_row(s, name, version)
            self._move_to_stage(s, name, row, stage, True, HISTORY_ROLLBACK, user_id)
            return self._version(s, row)


__all__ = ["SqlDeployMixin", "validate_alias"]
