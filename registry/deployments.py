"""Deployment records: which serving processes serve which versions of a model, kept with a TTL.

This module holds the records and the checks of a report (no SQLAlchemy: the serving runtime
imports it); the SQL store's operations are in `sql_deployments`.

A `shipyard serve` with a tracking URI reports every poll interval (`runtime/deployment_report`);
each report replaces that server's rows and sets their expiry to the registry's clock plus the
report's TTL, so a killed server drops out of the listing by itself, and a clean shutdown removes
its rows at once. Listing never returns an expired row; reports prune expired rows as they go.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shipyard.exceptions import InvalidInput
from shipyard.registry.validation import validate_model_name

MAX_TTL_SECONDS = 24 * 3600
_SERVER_ID_MAX = 64
_HOST_MAX = 256
_VERSIONS_MAX = 500


@dataclass(frozen=True, slots=True)
class ServedVersions:
    """One registered model as one server serves it: its versions (several under a traffic split)."""

    name: str
    versions: tuple[str, ...]
    ready: bool
    uri: str | None = None


@dataclass(frozen=True, slots=True)
class DeploymentReport:
    """What one serving process says about itself each poll interval."""

    server_id: str
    host: str
    port: int
    pid: int
    started_at: int
    """Process start, epoch milliseconds."""
    ttl_seconds: float
    models: tuple[ServedVersions, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "server_id": self.server_id,
            "host": self.host,
            "port": self.port,
            "pid": self.pid,
            "started_at": self.started_at,
            "ttl_seconds": self.ttl_seconds,
            "models": [
                {"name": s.name, "versions": list(s.versions), "ready": s.ready, "uri": s.uri} for s in self.models
            ],
        }


@dataclass(frozen=True, slots=True)
class Deployment:
    """One listed record: a server serving versions of one model, as of `reported_at`."""

    name: str
    server_id: str
    host: str
    port: int
    pid: int
    started_at: int
    versions: tuple[str, ...]
    ready: bool
    uri: str | None
    reported_at: int
    expires_at: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "server_id": self.server_id,
            "host": self.host,
            "port": self.port,
            "pid": self.pid,
            "started_at": self.started_at,
            "versions": list(self.versions),
            "ready": self.ready,
            "uri": self.uri,
            "reported_at": self.reported_at,
            "expires_at": self.expires_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Deployment:
        """The inverse of `to_dict` (the REST store reads the server's answer)."""
        return cls(
            name=str(data["name"]),
            server_id=str(data["server_id"]),
            host=str(data["host"]),
            port=int(data["port"]),
            pid=int(data["pid"]),
            started_at=int(data["started_at"]),
            versions=tuple(str(v) for v in data.get("versions") or ()),
            ready=bool(data.get("ready")),
            uri=data.get("uri"),
            reported_at=int(data["reported_at"]),
            expires_at=int(data["expires_at"]),
        )


def _field(data: Mapping[str, Any], name: str, kind: type, where: str = "deployment report") -> Any:
    value = data.get(name)
    # NOTE: bool is an int subclass: a `true` port must be refused, not read as 1.
    if value is None or isinstance(value, bool) is not (kind is bool) or not isinstance(value, kind):
        shown = "missing" if value is None else f"{value!r} ({type(value).__name__})"
        raise InvalidInput(f"{where} field {name!r} is {shown}; expected {kind.__name__}")
    return value


def validate_server_id(server_id: Any) -> str:
    if not isinstance(server_id, str) or not server_id or len(server_id) > _SERVER_ID_MAX:
        raise InvalidInput(
            f"deployment report field 'server_id' is {server_id!r}; expected 1-{_SERVER_ID_MAX} characters"
        )
    return server_id


def report_from_dict(data: Mapping[str, Any]) -> DeploymentReport:
    """A report from JSON, each field checked: the error names the field and what was wrong."""
    host = _field(data, "host", str)
    if not host or len(host) > _HOST_MAX:
        raise InvalidInput(f"deployment report field 'host' is {host!r}; expected 1-{_HOST_MAX} characters")
    port = _field(data, "port", int)
    if not 0 <= port <= 65535:
        raise InvalidInput(f"deployment report field 'port' is {port}; expected 0-65535")
    ttl = data.get("ttl_seconds")
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not 0 < ttl <= MAX_TTL_SECONDS:
        raise InvalidInput(
            f"deployment report field 'ttl_seconds' is {ttl!r}; expected a number in (0, {MAX_TTL_SECONDS}]"
        )
    models = data.get("models")
    if not isinstance(models, list):
        raise InvalidInput(f"deployment report field 'models' is {models!r}; expected a list")
    served = []
    for index, entry in enumerate(models):
        where = f"deployment report models[{index}]"
        if not isinstance(entry, Mapping):
            raise InvalidInput(f"{where} is {entry!r}; expected an object with name, versions, ready")
        versions = _field(entry, "versions", list, where)
        if not all(isinstance(v, str) and v for v in versions) or len(",".join(versions)) > _VERSIONS_MAX:
            raise InvalidInput(f"{where} field 'versions' is {versions!r}; expected a list of version strings")
        uri = entry.get("uri")
        if uri is not None and not isinstance(uri, str):
            raise InvalidInput(f"{where} field 'uri' is {uri!r}; expected a string")
        served.append(
            ServedVersions(
                validate_model_name(_field(entry, "name", str, where)),
                tuple(versions),
                _field(entry, "ready", bool, where),
                uri,
            )
        )
    return DeploymentReport(
        server_id=validate_server_id(data.get("server_id")),
        host=host,
        port=port,
        pid=_field(data, "pid", int),
        started_at=_field(data, "started_at", int),
        ttl_seconds=float(ttl),
        models=tuple(served),
    )


def deployments_json(found: Sequence[Deployment]) -> dict[str, Any]:
    return {"deployments": [d.to_dict() for d in found]}


__all__ = [
    "MAX_TTL_SECONDS",
    "Deployment",
    "DeploymentReport",
    "ServedVersions",
    "deployments_json",
    "report_from_dict",
    "validate_server_id",
]
