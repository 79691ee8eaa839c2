"""Deployment-record operations of the SQL registry store (the records: `registry/deployments`).

Each report is one transaction: delete the server's rows (and any expired row), insert the new
ones. Expiry uses the registry's clock, never the reporting server's.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shipyard.exceptions import ResourceNotFound
from shipyard.registry import dbmodels as m
from shipyard.registry.deployments import Deployment, DeploymentReport, validate_server_id
from shipyard.registry.validation import now_ms


def _deployment(row: m.SqlDeployment) -> Deployment:
    return Deployment(
        name=row.name,
        server_id=row.server_id,
        host=row.host,
        port=row.port,
        pid=row.pid,
        started_at=row.started_at,
        versions=tuple(v for v in row.versions.split(",") if v),
        ready=row.ready,
        uri=row.uri,
        reported_at=row.reported_at,
        expires_at=row.expires_at,
    )


class SqlDeploymentsMixin(ABC):
    """Mixed into `SqlRegistryStore`: the deployment-record operations of the SQL store."""

    @abstractmethod
    def _session(self) -> AbstractContextManager[Session]: ...

    @abstractmethod
    def _model_not_found(self, s: Session, name: str) -> ResourceNotFound: ...

    def report_deployment(self, report: DeploymentReport) -> None:
        """Replace this server's rows with the report's, expiring `ttl_seconds` from now."""
        now = now_ms()
        expires = now + int(report.ttl_seconds * 1000)
        with self._session() as s:
            s.execute(
                sa.delete(m.SqlDeployment).where(
                    sa.or_(m.SqlDeployment.server_id == report.server_id, m.SqlDeployment.expires_at <= now)
                )
            )
            for served in report.models:
                s.add(
                    m.SqlDeployment(
                        server_id=report.server_id,
                        name=served.name,
                        host=report.host,
                        port=report.port,
                        pid=report.pid,
                        started_at=report.started_at,
                        versions=",".join(served.versions),
                        ready=served.ready,
                        uri=served.uri,
                        reported_at=now,
                        expires_at=expires,
                    )
                )

    def list_deployments(self, name: str) -> list[Deployment]:
        """The live records of a model (expired ones are never listed), by host, port, pid."""
        with self._session() as s:
            if s.get(m.SqlRegisteredModel, name) is None:
                raise self._model_not_found(s, name)
            rows = s.scalars(
                sa.select(m.SqlDeployment)
                .where(m.SqlDeployment.name == name, m.SqlDeployment.expires_at > now_ms())
                .order_by(m.SqlDeployment.host, m.SqlDeployment.port, m.SqlDeployment.pid)
            ).all()
            return [_deployment(row) for row in rows]

    def remove_deployment(self, server_id: str) -> None:
        """Forget a server (its clean shutdown); unknown ids are not an error (it may have expired)."""
        with self._session() as s:
            s.execute(sa.delete(m.SqlDeployment).where(m.SqlDeployment.server_id == validate_server_id(server_id)))


__all__ = ["SqlDeploymentsMixin"]
