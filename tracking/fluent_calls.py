"""MLflow's thin fluent calls on one run or on the current experiment (`mlflow.get_run`,
`get_parent_run`, `delete_run`, `delete_tag`, `set_experiment_tag`, `set_experiment_tags`,
`delete_experiment`, `is_tracking_uri_set`, `log_input`, `log_table`): each is a client call or
two through the fluent tracking URI."""

from __future__ import annotations

import json
import posixpath
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from shipyard.exceptions import InvalidInput, InvalidState
from shipyard.mlflow_names import refuses
from shipyard.tracking import system_tags
from shipyard.tracking.artifacts import safe_relative_path
from shipyard.tracking.client import TrackingClient
from shipyard.tracking.entities import Dataset, DatasetInput, InputTag, Run
from shipyard.tracking.fluent import active_run, active_run_or_start, current_client
from shipyard.tracking.fluent_state import STATE, default_experiment_id, process_settings

_TABLE_FORMATS = (".json", ".parquet")


def get_run(run_id: str) -> Run:
    return current_client().get_run(run_id)


def get_parent_run(run_id: str) -> Run | None:
    """The run's parent (its `mlflow.parentRunId` tag), None for a top-level run."""
    return current_client().get_parent_run(run_id)


def delete_run(run_id: str) -> None:
    """Mark the run deleted (restorable until `shipyard gc`)."""
    current_client().delete_run(run_id)


def delete_tag(key: str) -> None:
    """Delete a tag of the active run (as MLflow, there must be one)."""
    active = active_run()
    if active is None:
        raise InvalidState(f"delete_tag({key!r}) needs an active run; start one with start_run()")
    active.writer.flush(run_id=active.run_id)  # NOTE: a set_tag still queued would land after the delete
    current_client().delete_tag(active.run_id, key)


def _current_experiment_id() -> str:
    """MLflow's order: the active run's experiment, else the one a new run would go to."""
    active = active_run()
    client = current_client()
    return active.info.experiment_id if active is not None else default_experiment_id(client.store)


def set_experiment_tag(key: str, value: Any) -> None:
    """Tag the current experiment (the active run's, else `set_experiment`'s, else the default)."""
    current_client().set_experiment_tag(_current_experiment_id(), key, value)


def set_experiment_tags(tags: dict[str, Any]) -> None:
    experiment_id = _current_experiment_id()
    client = current_client()
    for key, value in tags.items():
        client.set_experiment_tag(experiment_id, key, value)


def delete_experiment(experiment_id: str) -> None:
    """Mark the experiment and its runs deleted (restorable until `shipyard gc`)."""
    current_client().delete_experiment(experiment_id)


def is_tracking_uri_set() -> bool:
    """True when `set_tracking_uri` or a `SHIPYARD_TRACKING_URI` / `MLFLOW_TRACKING_URI` variable
    chose the store (False means the embedded default)."""
    return bool(STATE.tracking_uri or process_settings().tracking_uri)


def _run_tags(client: TrackingClient, run_id: str) -> dict[str, str]:
    """The run's tags with the active run's queued writes landed first."""
    active = active_run()
    if active is not None and active.run_id == run_id:
        active.writer.flush(run_id=run_id)
    return client.get_run(run_id).data.tags


def _json_list(tags: dict[str, str], key: str) -> list[Any]:
    try:
        value = json.loads(tags.get(key) or "[]")
    except json.JSONDecodeError:
        raise InvalidState(f"run tag {key!r} does not hold JSON: {tags[key]!r:.80}") from None
    if not isinstance(value, list):
        raise InvalidState(f"run tag {key!r} holds {type(value).__name__}, expected a JSON list")
    return value


def _dataset_entity(dataset: Any) -> Dataset:
    """An `mlflow.data` dataset (through its `_to_mlflow_entity()`), MLflow's `Dataset` entity or
    Shipyard's, as Shipyard's entity; the store checks the values."""
    entity = dataset._to_mlflow_entity() if hasattr(dataset, "_to_mlflow_entity") else dataset
    missing = [name for name in ("name", "digest", "source_type", "source") if not hasattr(entity, name)]
    if missing:
        raise InvalidInput(
            f"log_input: parameter 'dataset' must be an mlflow.data dataset or a Dataset entity; "
            f"{type(dataset).__name__} has no {', '.join(missing)}"
        )
    fields: dict[str, Any] = {name: getattr(entity, name, None) for name in Dataset.__dataclass_fields__}
    return Dataset(**fields)


@refuses("model")
def log_input(
    dataset: Any = None, context: str | None = None, tags: dict[str, str] | None = None, model: Any = None
) -> None:
    """Record a dataset the active run used, with its input tags (`context` becomes the tag
    `mlflow.data.context`, as in MLflow), in the tracking store: `get_run(id).inputs` reads it
    back and `search_runs` filters on `datasets.name` / `digest` / `context`."""
    if dataset is None:
        raise InvalidInput("log_input: parameter 'dataset' is required (Shipyard records datasets only)")
    if context is not None and not isinstance(context, str):
        raise InvalidInput(f"log_input: parameter 'context' must be text, got {type(context).__name__}")
    if tags is not None and not isinstance(tags, dict):
        raise InvalidInput(f"log_input: parameter 'tags' must be a dict of str to str, got {type(tags).__name__}")
    input_tags = [InputTag(str(key), str(value)) for key, value in (tags or {}).items()]
    if context:
        input_tags.append(InputTag(system_tags.DATASET_CONTEXT, context))
    entry = DatasetInput(_dataset_entity(dataset), input_tags)
    current_client().log_inputs(active_run_or_start().run_id, [entry])


def _table_frame(data: Any) -> pd.DataFrame:
    if isinstance(data, dict):
        try:
            frame = pd.DataFrame(data)
        except ValueError:  # NOTE: all scalars ({"inputs": "x"}) is one row, as in MLflow
            frame = pd.DataFrame([data])
    elif isinstance(data, pd.DataFrame):
        frame = data
    else:
        raise InvalidInput(f"log_table: data must be a pandas.DataFrame or a dict, got {type(data).__name__}")
    for column in frame.columns:
        values = frame[column]
        if values.dtype == object and any(hasattr(v, "save") and hasattr(v, "resize") for v in values):
            raise InvalidInput(f"log_table: column {column!r} holds images, which Shipyard's tables do not store")
    return frame


def _read_table(path: Path) -> pd.DataFrame:
    if path.suffix == ".json":
        return pd.read_json(path, orient="split")
    return pd.read_parquet(path)


def log_table(data: dict[str, Any] | pd.DataFrame, artifact_file: str, run_id: str | None = None) -> None:
    """Write `data` as the table artifact `artifact_file` (JSON in pandas' split orient, or
    parquet), appending its rows when the file already exists, and list it in the run tag
    `mlflow.loggedArtifacts`, as MLflow does."""
    relative = safe_relative_path(artifact_file, what="artifact_file")
    if not relative or not relative.endswith(_TABLE_FORMATS):
        raise InvalidInput(f"log_table: artifact_file {artifact_file!r} must name a .json or .parquet file")
    frame = _table_frame(data)
    run_id = run_id or active_run_or_start().run_id
    client = current_client()
    folder = posixpath.dirname(relative) or None
    with tempfile.TemporaryDirectory() as tmp:
        if relative in {info.path for info in client.list_artifacts(run_id, folder)}:
            existing = _read_table(Path(client.download_artifacts(run_id, relative, tmp)))
            frame = pd.concat([existing, frame], ignore_index=True)
        target = Path(tmp) / "new" / posixpath.basename(relative)
        target.parent.mkdir()
        try:
            if target.suffix == ".json":
                frame.to_json(target, orient="split", index=False, date_format="iso")
            else:
                frame.to_parquet(target, index=False)
        except (TypeError, ValueError, OverflowError) as error:
            raise InvalidInput(f"log_table: the data cannot be written as {target.suffix[1:]}: {error}") from None
        client.log_artifact(run_id, target, folder)
    logged = _json_list(_run_tags(client, run_id), system_tags.LOGGED_ARTIFACTS)
    entry = {"path": relative, "type": "table"}
    if entry not in logged:
        client.set_tag(run_id, system_tags.LOGGED_ARTIFACTS, json.dumps([*logged, entry]))


__all__ = [
    "delete_experiment",
    "delete_run",
    "delete_tag",
    "get_parent_run",
    "get_run",
    "is_tracking_uri_set",
    "log_input",
    "log_table",
    "set_experiment_tag",
    "set_experiment_tags",
]
