"""The SQL registry store: registered models, versions and tags (deployment ops in `sql_deploy`).

Concurrency: every write that depends on what it read locks the registered model's row first
(`SELECT ... FOR UPDATE` on PostgreSQL; on sqlite the engine opens every transaction with
`BEGIN IMMEDIATE`, which serialises writers). Version numbers come from the model row's
`last_version` counter bumped under that lock, so concurrent registrations get distinct,
consecutive numbers. Duplicate keys that slip past a check become `AlreadyExists`.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shipyard.exceptions import AlreadyExists, InvalidState, ResourceNotFound
from shipyard.redact import mask_url
from shipyard.registry import dbmodels as m
from shipyard.registry.entities import (
    STAGE_NONE,
    STAGES,
    STATUS_FAILED,
    STATUS_PENDING,
    STATUS_READY,
    ModelVersion,
    RegisteredModel,
    canonical_stage,
)
from shipyard.registry.search import filter_conditions, order_keys
from shipyard.registry.sql_deploy import SqlDeployMixin
from shipyard.registry.sql_deployments import SqlDeploymentsMixin
from shipyard.registry.sql_rows import latest_versions, model_from_row, versions_from_rows
from shipyard.registry.store import (
    SEARCH_MODEL_VERSIONS_MAX,
    SEARCH_REGISTERED_MODELS_MAX,
    AbstractRegistryStore,
)
from shipyard.registry.validation import now_ms, validate_model_name, version_number
from shipyard.tracking.db import create_engine_for, default_artifact_root, migrate, session_scope
from shipyard.tracking.paging import PagedList, check_max_results
from shipyard.tracking.sql_paging import fetch_page

_LISTED = 20


class SqlRegistryStore(SqlDeployMixin, SqlDeploymentsMixin, AbstractRegistryStore):
    """Registry tables in the tracking database (sqlite, PostgreSQL, other SQLAlchemy URLs)."""

    def __init__(self, engine: sa.Engine, artifact_root: str) -> None:
        self.engine = engine
        self._artifact_root = artifact_root

    def __repr__(self) -> str:
        """The database URL with its password masked (the real one lives only in the engine)."""
        return f"{type(self).__name__}({mask_url(self.engine.url.render_as_string(hide_password=False))!r})"

    @classmethod
    def open(cls, db_uri: str, artifact_root: str | None = None) -> SqlRegistryStore:
        """Engine + migrations, then the store (the constructor itself creates nothing).

        No `artifact_root` means `db.default_artifact_root(db_uri)` (beside a sqlite file)."""
        engine = create_engine_for(db_uri)
        migrate(engine)
        return cls(engine, artifact_root or default_artifact_root(db_uri))

    @property
    def artifact_root(self) -> str:
        return self._artifact_root

    def close(self) -> None:
        self.engine.dispose()

    # --- helpers ------------------------------------------------------------------------------
    def _session(self) -> AbstractContextManager[Session]:
        return session_scope(self.engine)

    def _lock_model(self, s: Session, name: str) -> m.SqlRegisteredModel:
        row = s.execute(
            sa.select(m.SqlRegisteredModel).where(m.SqlRegisteredModel.name == name).with_for_update()
        ).scalar_one_or_none()
        if row is None:
            raise self._model_not_found(s, name)
        return row

    def _model_not_found(self, s: Session, name: str) -> ResourceNotFound:
        """Lists the registered names most likely meant first: a prefix of the asked name or
        starting with it, then those sharing its first half, then the rest in order (a
        registry of thousands lists a few)."""
        column = m.SqlRegisteredModel.name
        half = max(1, len(name) // 2)
        likeness = sa.case(
            (sa.func.substr(sa.literal(name), 1, sa.func.length(column)) == column, 0),
            (sa.func.substr(column, 1, len(name)) == name, 0),
            (sa.func.substr(column, 1, half) == name[:half], 1),
            else_=2,
        )
        names = s.scalars(sa.select(column).order_by(likeness, column).limit(_LISTED + 1)).all()
        listed = ", ".join(names[:_LISTED]) + (", ..." if len(names) > _LISTED else "")
        return ResourceNotFound(
            f"Registered Model with name={name} not found; "  # MLflow's words, then ours
            + (f"registered models: {listed}" if names else "no models are registered yet")
        )

    def _version_row(self, s: Session, name: str, version: int | str) -> m.SqlModelVersion:
        number = version_number(version)
        row = s.get(m.SqlModelVersion, (name, number))
        if row is None:
            if s.get(m.SqlRegisteredModel, name) is None:
                raise self._model_not_found(s, name)
            versions = s.scalars(
                sa.select(m.SqlModelVersion.version)
                .where(m.SqlModelVersion.name == name)
                .order_by(m.SqlModelVersion.version)
            ).all()
            raise ResourceNotFound(
                f"Model Version (name={name}, version={number}) not found; "
                + (f"versions: {', '.join(map(str, versions))}" if versions else "it has no versions")
            )
        return row

    def _versions(self, s: Session, rows: Sequence[m.SqlModelVersion]) -> list[ModelVersion]:
        return versions_from_rows(s, rows)

    def _version(self, s: Session, row: m.SqlModelVersion) -> ModelVersion:
        return versions_from_rows(s, [row])[0]

    def _model(self, s: Session, row: m.SqlRegisteredModel) -> RegisteredModel:
        return model_from_row(s, row)

    # --- registered models --------------------------------------------------------------------
    def create_registered_model(
        self, name: str, tags: dict[str, str] | None = None, description: str | None = None
    ) -> RegisteredModel:
        validate_model_name(name)
        try:
            with self._session() as s:
                if s.get(m.SqlRegisteredModel, name) is not None:
                    raise AlreadyExists(f"Registered Model (name={name}) already exists.")
                t = now_ms()
                s.add(
                    m.SqlRegisteredModel(
                        name=name, creation_time=t, last_updated_time=t, description=description, last_version=0
                    )
                )
                s.flush()
                for key, value in (tags or {}).items():
                    s.add(m.SqlRegisteredModelTag(name=name, key=key, value=value))
                s.flush()
                return self._model(s, s.get_one(m.SqlRegisteredModel, name))
        except sa.exc.IntegrityError:
            raise AlreadyExists(f"Registered Model (name={name}) already exists.") from None

    def get_registered_model(self, name: str) -> RegisteredModel:
        with self._session() as s:
            row = s.get(m.SqlRegisteredModel, name)
            if row is None:
                raise self._model_not_found(s, name)
            return self._model(s, row)

    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        with self._session() as s:
            row = self._lock_model(s, name)
            row.description = description
            row.last_updated_time = now_ms()
            s.flush()
            return self._model(s, row)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        validate_model_name(new_name)
        try:
            with self._session() as s:
                self._lock_model(s, name)
                if s.get(m.SqlRegisteredModel, new_name) is not None:
                    raise AlreadyExists(f"cannot rename {name!r}: registered model {new_name!r} already exists")
                # NOTE: Core UPDATE so the FKs' ON UPDATE CASCADE carries versions, tags, aliases
                # and history along in the same statement.
                s.execute(
                    sa.update(m.SqlRegisteredModel)
                    .where(m.SqlRegisteredModel.name == name)
                    .values(name=new_name, last_updated_time=now_ms())
                )
                s.expire_all()
                return self._model(s, s.get_one(m.SqlRegisteredModel, new_name))
        except sa.exc.IntegrityError:
            raise AlreadyExists(f"cannot rename {name!r}: registered model {new_name!r} already exists") from None

    def delete_registered_model(self, name: str) -> list[str]:
        with self._session() as s:
            self._lock_model(s, name)
            digests = s.scalars(
                sa.select(m.SqlModelVersion.digest).where(
                    m.SqlModelVersion.name == name, m.SqlModelVersion.digest.is_not(None)
                )
            ).all()
            s.execute(sa.delete(m.SqlRegisteredModel).where(m.SqlRegisteredModel.name == name))
            return [d for d in digests if d]

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_REGISTERED_MODELS_MAX,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        check_max_results(max_results)
        rm = m.SqlRegisteredModel
        columns = {
            "name": rm.name,
            "creation_timestamp": rm.creation_time,
            "last_updated_timestamp": rm.last_updated_time,
            "description": rm.description,
        }

        def tag(key: str, pred: Any) -> Any:
            t = m.SqlRegisteredModelTag
            return sa.exists().where(t.name == rm.name, t.key == key, pred(t.value))

        conditions = filter_conditions(filter_string, columns, {"creation_timestamp", "last_updated_timestamp"}, tag)
        keys = order_keys(list(order_by or []), columns, [(rm.name, True)])
        search = {"search": "registered_models", "filter": filter_string or "", "order_by": list(order_by or [])}
        with self._session() as s:
            rows, token = fetch_page(s, sa.select(rm).where(*conditions), keys, max_results, page_token, search)
            return PagedList([self._model(s, row) for row in rows], token)

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        with self._session() as s:
            row = self._lock_model(s, name)
            s.merge(m.SqlRegisteredModelTag(name=name, key=key, value=value))
            row.last_updated_time = now_ms()

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        with self._session() as s:
            self._lock_model(s, name)
            tag = s.get(m.SqlRegisteredModelTag, (name, key))
            if tag is None:
                raise ResourceNotFound(f"registered model {name!r} has no tag {key!r}")
            s.delete(tag)

    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        wanted = [canonical_stage(st) for st in stages] if stages else list(STAGES)
        with self._session() as s:
            if s.get(m.SqlRegisteredModel, name) is None:
                raise self._model_not_found(s, name)
            return latest_versions(s, name, wanted)

    # --- model versions -----------------------------------------------------------------------
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, str] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        *,
        user_id: str | None = None,
        status_message: str | None = None,
    ) -> ModelVersion:
        with self._session() as s:
            model = self._lock_model(s, name)
            model.last_version += 1
            t = now_ms()
            model.last_updated_time = t
            row = m.SqlModelVersion(
                name=name,
                version=model.last_version,
                creation_time=t,
                last_updated_time=t,
                description=description,
                user_id=user_id,
                current_stage=STAGE_NONE,
                source=source,
                run_id=run_id,
                status=STATUS_PENDING,
                status_message=status_message,
            )
            s.add(row)
            s.flush()
            for key, value in (tags or {}).items():
                s.add(m.SqlModelVersionTag(name=name, version=row.version, key=key, value=value))
            s.flush()
            return self._version(s, row)

    def finish_model_version(self, name: str, version: int, *, digest: str, storage_location: str) -> ModelVersion:
        with self._session() as s:
            row = self._version_row(s, name, version)
            if row.status != STATUS_PENDING:
                raise InvalidState(f"model {name!r} version {version} is {row.status}, not {STATUS_PENDING}")
            row.status, row.digest, row.storage_location = STATUS_READY, digest, storage_location
            row.status_message = None
            row.last_updated_time = now_ms()
            s.flush()
            return self._version(s, row)

    def fail_model_version(self, name: str, version: int, message: str) -> ModelVersion:
        with self._session() as s:
            row = self._version_row(s, name, version)
            if row.status != STATUS_PENDING:
                return self._version(s, row)  # NOTE: it finished (or failed) meanwhile; keep that
            row.status, row.status_message = STATUS_FAILED, message[:500]
            row.last_updated_time = now_ms()
            s.flush()
            return self._version(s, row)

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        with self._session() as s:
            return self._version(s, self._version_row(s, name, version))

    def update_model_version(self, name: str, version: int | str, description: str | None) -> ModelVersion:
        with self._session() as s:
            row = self._version_row(s, name, version)
            row.description, row.last_updated_time = description, now_ms()
            s.flush()
            return self._version(s, row)

    def delete_model_version(self, name: str, version: int | str) -> str | None:
        with self._session() as s:
            self._lock_model(s, name)
            row = self._version_row(s, name, version)
            digest = row.digest
            s.delete(row)
            return digest

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = SEARCH_MODEL_VERSIONS_MAX,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        check_max_results(max_results)
        mv = m.SqlModelVersion
        columns = {
            "name": mv.name,
            "version_number": mv.version,
            "version": mv.version,
            "run_id": mv.run_id,
            "source_path": mv.source,
            "source": mv.source,
            "current_stage": mv.current_stage,
            "status": mv.status,
            "digest": mv.digest,
            "creation_timestamp": mv.creation_time,
            "last_updated_timestamp": mv.last_updated_time,
        }

        def tag(key: str, pred: Any) -> Any:
            t = m.SqlModelVersionTag
            return sa.exists().where(t.name == mv.name, t.version == mv.version, t.key == key, pred(t.value))

        numeric = {"version_number", "version", "creation_timestamp", "last_updated_timestamp"}
        conditions = filter_conditions(filter_string, columns, numeric, tag)
        keys = order_keys(list(order_by or []), columns, [(mv.name, True), (mv.version, False)])
        search = {"search": "model_versions", "filter": filter_string or "", "order_by": list(order_by or [])}
        with self._session() as s:
            rows, token = fetch_page(s, sa.select(mv).where(*conditions), keys, max_results, page_token, search)
            return PagedList(self._versions(s, rows), token)

    def digest_in_use(self, digest: str) -> bool:
        with self._session() as s:
            count: int | None = s.scalar(
                sa.select(sa.func.count()).select_from(m.SqlModelVersion).where(m.SqlModelVersion.digest == digest)
            )
            return count != 0

    def set_model_version_tag(self, name: str, version: int | str, key: str, value: str) -> None:
        with self._session() as s:
            row = self._version_row(s, name, version)
            s.merge(m.SqlModelVersionTag(name=name, version=row.version, key=key, value=value))

    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        with self._session() as s:
            row = self._version_row(s, name, version)
            tag = s.get(m.SqlModelVersionTag, (name, row.version, key))
            if tag is None:
                raise ResourceNotFound(f"model {name!r} version {row.version} has no tag {key!r}")
            s.delete(tag)


__all__ = ["SqlRegistryStore"]
