"""What tracking callers see: plain frozen dataclasses with MLflow's names and fields."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

_MLFLOW_RUN_INFO_FIELDS = (
    "artifact_uri",
    "end_time",
    "experiment_id",
    "lifecycle_stage",
    "run_id",
    "run_name",
    "start_time",
    "status",
    "user_id",
)
"""MLflow's `RunInfo` properties, in the (sorted) order `dict(run.info)` yields them."""


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

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        """`dict(run.info)` gives MLflow's `RunInfo` properties, sorted, as MLflow's entities do
        (`parent_run_id` is Shipyard's own field and is left out, as is the deprecated run_uuid)."""
        for name in _MLFLOW_RUN_INFO_FIELDS:
            yield name, getattr(self, name)


@dataclass(frozen=True)
class RunData:
    """Latest metric values, params and tags of a run, as dicts (MLflow's `RunData` shape)."""

    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def to_dictionary(self) -> dict[str, Any]:
        return {"metrics": self.metrics, "params": self.params, "tags": self.tags}


@dataclass(frozen=True)
class Dataset:
    """A dataset a run used, as MLflow's `Dataset` entity: `source` is the source's JSON, `schema`
    and `profile` are JSON text (or None)."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None

    def to_dictionary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "digest": self.digest,
            "source_type": self.source_type,
            "source": self.source,
            "schema": self.schema,
            "profile": self.profile,
        }


@dataclass(frozen=True)
class InputTag:
    """A tag on one dataset input, e.g. `mlflow.data.context` = "train"."""

    key: str
    value: str


@dataclass(frozen=True)
class DatasetInput:
    dataset: Dataset
    tags: list[InputTag] = field(default_factory=list)

    def to_dictionary(self) -> dict[str, Any]:
        return {"dataset": self.dataset.to_dictionary(), "tags": {tag.key: tag.value for tag in self.tags}}


@dataclass(frozen=True)
class LoggedModelInput:
    """A logged model the run used."""

    model_id: str

    def to_dictionary(self) -> dict[str, Any]:
        return {"model_id": self.model_id}


@dataclass(frozen=True)
class LoggedModelOutput:
    """A logged model the run produced, at a training step."""

    model_id: str
    step: int = 0

    def to_dictionary(self) -> dict[str, Any]:
        return {"model_id": self.model_id, "step": self.step}


@dataclass(frozen=True)
class RunInputs:
    """MLflow's `RunInputs`: the datasets and logged models a run used, in the order logged."""

    dataset_inputs: list[DatasetInput] = field(default_factory=list)
    model_inputs: list[LoggedModelInput] = field(default_factory=list)

    def to_dictionary(self) -> dict[str, Any]:
        """NOTE: MLflow puts its `LoggedModelInput` objects themselves under `model_inputs`; these
        are dicts, so the result stays JSON-serialisable."""
        return {
            "model_inputs": [m.to_dictionary() for m in self.model_inputs],
            "dataset_inputs": [d.to_dictionary() for d in self.dataset_inputs],
        }


@dataclass(frozen=True)
class RunOutputs:
    """MLflow's `RunOutputs`: the logged models a run produced."""

    model_outputs: list[LoggedModelOutput] = field(default_factory=list)

    def to_dictionary(self) -> dict[str, Any]:
        return {"model_outputs": [m.to_dictionary() for m in self.model_outputs]}


@dataclass(frozen=True)
class Run:
    info: RunInfo
    data: RunData
    inputs: RunInputs = field(default_factory=RunInputs)
    outputs: RunOutputs = field(default_factory=RunOutputs)

    def to_dict(self) -> dict[str, Any]:
        return {"info": self.info.__dict__, "data": self.data.__dict__}

    def to_dictionary(self) -> dict[str, Any]:
        """MLflow's `Run.to_dictionary()`: info, data, inputs, outputs."""
        return {
            "info": dict(self.info),
            "data": self.data.to_dictionary(),
            "inputs": self.inputs.to_dictionary(),
            "outputs": self.outputs.to_dictionary(),
        }


@dataclass(frozen=True)
class FileInfo:
    """One entry of an artifact listing: a path relative to the run's artifact root."""

    path: str
    is_dir: bool
    file_size: int | None = None


__all__ = [
    "Dataset",
    "DatasetInput",
    "Experiment",
    "ExperimentTag",
    "FileInfo",
    "InputTag",
    "LifecycleStage",
    "LoggedModelInput",
    "LoggedModelOutput",
    "Metric",
    "Param",
    "Run",
    "RunData",
    "RunInfo",
    "RunInputs",
    "RunOutputs",
    "RunStatus",
    "RunTag",
    "ViewType",
]
