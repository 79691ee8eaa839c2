"""What registry callers see: plain dataclasses, kept apart from the ORM rows in `dbmodels.py`.

Names and fields follow MLflow's `RegisteredModel` / `ModelVersion` so code written against
`mlflow.MlflowClient` reads the same; Shipyard adds `digest` and `storage_location`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shipyard.exceptions import InvalidInput

STAGE_NONE = "None"
STAGE_STAGING = "Staging"
STAGE_PRODUCTION = "Production"
STAGE_ARCHIVED = "Archived"
STAGES: tuple[str, ...] = (STAGE_NONE, STAGE_STAGING, STAGE_PRODUCTION, STAGE_ARCHIVED)
"""Every stage a version can be in; input is matched case-insensitively (MLflow does the same)."""

STATUS_PENDING = "PENDING_REGISTRATION"
STATUS_FAILED = "FAILED_REGISTRATION"
STATUS_READY = "READY"
STATUSES: tuple[str, ...] = (STATUS_PENDING, STATUS_FAILED, STATUS_READY)

HISTORY_TRANSITION = "transition"
HISTORY_SET_ALIAS = "set_alias"
HISTORY_DELETE_ALIAS = "delete_alias"
HISTORY_ROLLBACK = "rollback"


def canonical_stage(stage: str) -> str:
    """'production' -> 'Production'; anything else is an error listing the stages."""
    for known in STAGES:
        if str(stage).strip().lower() == known.lower():
            return known
    raise InvalidInput(f"stage {stage!r} is not a model version stage; allowed: {', '.join(STAGES)}")


@dataclass(frozen=True)
class ModelVersion:
    """One immutable registered copy of a model directory, plus its mutable stage and tags."""

    name: str
    version: int
    creation_timestamp: int
    last_updated_timestamp: int
    current_stage: str = STAGE_NONE
    description: str | None = None
    user_id: str | None = None
    source: str | None = None
    run_id: str | None = None
    run_link: str | None = None
    status: str = STATUS_PENDING
    status_message: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)
    digest: str | None = None
    storage_location: str | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (the CLI's `--json` and the REST API)."""
        return {
            "name": self.name,
            "version": self.version,
            "creation_timestamp": self.creation_timestamp,
            "last_updated_timestamp": self.last_updated_timestamp,
            "current_stage": self.current_stage,
            "description": self.description,
            "user_id": self.user_id,
            "source": self.source,
            "run_id": self.run_id,
            "status": self.status,
            "status_message": self.status_message,
            "tags": dict(self.tags),
            "aliases": list(self.aliases),
            "digest": self.digest,
            "storage_location": self.storage_location,
        }


@dataclass(frozen=True)
class RegisteredModel:
    """A named model: its versions live apart; `latest_versions` holds the newest per stage."""

    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    latest_versions: list[ModelVersion] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "creation_timestamp": self.creation_timestamp,
            "last_updated_timestamp": self.last_updated_timestamp,
            "description": self.description,
            "tags": dict(self.tags),
            "aliases": dict(self.aliases),
            "latest_versions": [mv.to_dict() for mv in self.latest_versions],
        }


@dataclass(frozen=True)
class HistoryEntry:
    """One append-only deployment event: a stage transition or an alias move.

    For `transition` (and the stage rows of a `rollback`) `from_value`/`to_value` are stages and
    `version` is the version that moved. For alias events `alias` is set and `from_value`/
    `to_value` are version numbers as text (`None` when the alias did not exist / was deleted).
    """

    id: int
    name: str
    action: str
    version: int | None
    alias: str | None
    from_value: str | None
    to_value: str | None
    user_id: str | None
    timestamp: int

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "action": self.action,
            "version": self.version,
            "alias": self.alias,
            "from": self.from_value,
            "to": self.to_value,
            "user_id": self.user_id,
            "timestamp": self.timestamp,
        }


__all__ = [
    "HISTORY_DELETE_ALIAS",
    "HISTORY_ROLLBACK",
    "HISTORY_SET_ALIAS",
    "HISTORY_TRANSITION",
    "HistoryEntry",
    "ModelVersion",
    "RegisteredModel",
    "STAGES",
    "STAGE_ARCHIVED",
    "STAGE_NONE",
    "STAGE_PRODUCTION",
    "STAGE_STAGING",
    "STATUSES",
    "STATUS_FAILED",
    "STATUS_PENDING",
    "STATUS_READY",
    "canonical_stage",
]
