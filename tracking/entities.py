"""What tracking callers see: plain frozen dataclasses with MLflow's names and fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple


class RunStatus:
    """Run states (strings, as MLflow's REST API spells them)."""

    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"
    ALL = (RUNNING, SCHEDULED, FINISHED, FAILED, KILLED)
    TERMINATED = (FINISHED, FAILED, KILLED)


class LifecycleStage:
    ACTIVE = "active"
    DELETED = "deleted"
    ALL = (ACTIVE, DELETED)


class ViewType:
    """Which lifecycle stages a listing or search returns."""

    ACTIVE_ONLY = 1
    DELETED_ONLY = 2
    ALL = 3

    @staticmethod
    def stages(view_type: int) -> tuple[str, ...]:
        return {
            ViewType.ACTIVE_ONLY: (LifecycleStage.ACTIVE,),
            ViewType.DELETED_ONLY: (LifecycleStage.DELETED,),
            ViewType.ALL: LifecycleStage.ALL,
        }[view_type]


class Metric(NamedTuple):
    """One logged value. NOTE: a tuple, not a dataclass: the background writer builds hundreds
    of thousands per second, and tuples are several times cheaper to create."""

    key: str
    value: float
    timestamp: int
    step: int = 0
    run_id: str | None = None


class Param(NamedTuple):
    key: str
    value: str


class RunTag(NamedTuple):
    key: str
    value: str


@dataclass(frozen=True)
class ExperimentTag:
    key: str
    value: str


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: int | None = None
    last_update_time: int | None = None


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    experiment_id: str
    run_name: str | None
    user_id: str | None
    status: str
    start_time: int | None
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: str
    parent_run_id: str | None = None

    @property
    def run_uuid(self) -> str:
        return self.run_id


@dataclass(frozen=True)
class RunData:
    """Latest metric values, params and tags of a run, as dicts (MLflow's `RunData` shape)."""

    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Run:
    info: RunInfo
    data: RunData

    def to_dict(self) -> dict[str, Any]:
        return {"info": self.info.__dict__, "data": self.data.__dict__}


@dataclass(frozen=True)
class FileInfo:
    """One entry of an artifact listing: a path relative to the run's artifact root."""

    path: str
    is_dir: bool
    file_size: int | None = None


__all__ = [
    "Experiment",
    "ExperimentTag",
    "FileInfo",
    "LifecycleStage",
    "Metric",
    "Param",
    "Run",
    "RunData",
    "RunInfo",
    "RunStatus",
    "RunTag",
    "ViewType",
]
