"""A run's inputs (datasets with their tags, logged models) and outputs (logged models) in SQL.

The one home of this data: `log_inputs` / `log_outputs` of the SQL store, the tracking server
(through the store) and `shipyard db import` all write through `write_inputs` / `write_outputs`,
and `get_run` / `search_runs` read it back through `with_inputs`. As in MLflow, a dataset logged
twice to a run (same name and digest) is kept once, with the tags it was first logged with.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shipyard.exceptions import InvalidInput
from shipyard.tracking.entities import (
    Dataset,
    DatasetInput,
    InputTag,
    LoggedModelInput,
    LoggedModelOutput,
    Run,
    RunInputs,
    RunOutputs,
)
from shipyard.tracking.orm import SqlDatasetInput, SqlDatasetInputTag, SqlModelLink
from shipyard.tracking.sql_batch import insert_ignore
from shipyard.tracking.system_tags import DATASET_CONTEXT

_INPUT, _OUTPUT = "input", "output"
_CHUNK = 500


def _text(value: Any, where: str, limit: int | None, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise InvalidInput(f"Missing value for required parameter '{where}'.")
    if limit is not None and len(value) > limit:
        raise InvalidInput(f"'{where}' is {len(value)} characters long; at most {limit} are allowed")
    return value


def _model_id(model: Any, where: str) -> str:
    text = _text(getattr(model, "model_id", None), f"{where}.model_id", 64)
    assert text is not None
    return text


def _dataset_rows(run_id: str, datasets: Sequence[DatasetInput]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Checked rows for `run_dataset_inputs` and `run_dataset_input_tags`; a repeat in the same
    call is dropped, as one already in the database will be."""
    inputs: dict[tuple[str | None, str | None], dict[str, Any]] = {}
    tags: list[dict[str, Any]] = []
    for number, item in enumerate(datasets):
        where = f"datasets[{number}]"
        dataset = getattr(item, "dataset", None)
        if dataset is None:
            raise InvalidInput(f"{where} must be a DatasetInput with a 'dataset', got {type(item).__name__}")
        row = {
            "run_uuid": run_id,
            "name": _text(getattr(dataset, "name", None), f"{where}.dataset.name", 500),
            "digest": _text(getattr(dataset, "digest", None), f"{where}.dataset.digest", 36),
            "source_type": _text(getattr(dataset, "source_type", None), f"{where}.dataset.source_type", 36),
            "source": _text(getattr(dataset, "source", None), f"{where}.dataset.source", None),
            "schema": _text(getattr(dataset, "schema", None), f"{where}.dataset.schema", None, required=False),
            "profile": _text(getattr(dataset, "profile", None), f"{where}.dataset.profile", None, required=False),
        }
        key = (row["name"], row["digest"])
        if key in inputs:
            continue
        inputs[key] = row
        for tag_number, tag in enumerate(getattr(item, "tags", None) or []):
            tag_where = f"{where}.tags[{tag_number}]"
            tags.append(
                {
                    "run_uuid": run_id,
                    "name": row["name"],
                    "digest": row["digest"],
                    "key": _text(getattr(tag, "key", None), f"{tag_where}.key", 255),
                    "value": _text(str(getattr(tag, "value", "")), f"{tag_where}.value", 500, required=False),
                }
            )
    return list(inputs.values()), tags


def write_inputs(
    session: Session,
    run_id: str,
    datasets: Sequence[DatasetInput] = (),
    models: Sequence[LoggedModelInput] = (),
) -> None:
    """Add dataset and model inputs to a run (in the caller's transaction); repeats are kept once."""
    inputs, tags = _dataset_rows(run_id, datasets)
    existing = {
        (name, digest)
        for name, digest in session.execute(
            sa.select(SqlDatasetInput.name, SqlDatasetInput.digest).where(SqlDatasetInput.run_uuid == run_id)
        )
    }
    new_inputs = [row for row in inputs if (row["name"], row["digest"]) not in existing]
    new_keys = {(row["name"], row["digest"]) for row in new_inputs}
    if new_inputs:
        session.execute(sa.insert(SqlDatasetInput), new_inputs)
    insert_ignore(session, SqlDatasetInputTag, [t for t in tags if (t["name"], t["digest"]) in new_keys])
    links = [
        {"run_uuid": run_id, "direction": _INPUT, "model_id": _model_id(m, f"models[{i}]"), "step": 0}
        for i, m in enumerate(models)
    ]
    _add_links(session, links)


def write_outputs(session: Session, run_id: str, models: Sequence[LoggedModelOutput]) -> None:
    """Add model outputs (model id + step) to a run; repeats are kept once."""
    links = []
    for number, model in enumerate(models):
        step = getattr(model, "step", 0)
        if isinstance(step, bool) or not isinstance(step, int):
            raise InvalidInput(f"Invalid value {step!r} for parameter 'models[{number}].step' supplied")
        links.append(
            {"run_uuid": run_id, "direction": _OUTPUT, "model_id": _model_id(model, f"models[{number}]"), "step": step}
        )
    _add_links(session, links)


def _add_links(session: Session, links: list[dict[str, Any]]) -> None:
    unique = list({(link["direction"], link["model_id"], link["step"]): link for link in links}.values())
    if not unique:
        return
    run_id = unique[0]["run_uuid"]
    existing = {
        (direction, model_id, step)
        for direction, model_id, step in session.execute(
            sa.select(SqlModelLink.direction, SqlModelLink.model_id, SqlModelLink.step).where(
                SqlModelLink.run_uuid == run_id
            )
        )
    }
    new = [link for link in unique if (link["direction"], link["model_id"], link["step"]) not in existing]
    if new:
        session.execute(sa.insert(SqlModelLink), new)


def with_inputs(session: Session, runs: list[Run]) -> list[Run]:
    """The runs with their `inputs` and `outputs` filled in (three queries per 500 runs)."""
    ids = [run.info.run_id for run in runs]
    datasets: dict[str, list[DatasetInput]] = {i: [] for i in ids}
    models_in: dict[str, list[LoggedModelInput]] = {i: [] for i in ids}
    models_out: dict[str, list[LoggedModelOutput]] = {i: [] for i in ids}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        tags: dict[tuple[str, str, str], list[InputTag]] = {}
        for tag in session.execute(
            sa.select(SqlDatasetInputTag).where(SqlDatasetInputTag.run_uuid.in_(chunk)).order_by(SqlDatasetInputTag.key)
        ).scalars():
            tags.setdefault((tag.run_uuid, tag.name, tag.digest), []).append(InputTag(tag.key, tag.value))
        for row in session.execute(
            sa.select(SqlDatasetInput).where(SqlDatasetInput.run_uuid.in_(chunk)).order_by(SqlDatasetInput.id)
        ).scalars():
            dataset = Dataset(row.name, row.digest, row.source_type, row.source, row.schema, row.profile)
            datasets[row.run_uuid].append(DatasetInput(dataset, tags.get((row.run_uuid, row.name, row.digest), [])))
        for link in session.execute(
            sa.select(SqlModelLink).where(SqlModelLink.run_uuid.in_(chunk)).order_by(SqlModelLink.id)
        ).scalars():
            if link.direction == _INPUT:
                models_in[link.run_uuid].append(LoggedModelInput(link.model_id))
            else:
                models_out[link.run_uuid].append(LoggedModelOutput(link.model_id, link.step))
    return [
        dataclasses.replace(
            run,
            inputs=RunInputs(datasets[run.info.run_id], models_in[run.info.run_id]),
            outputs=RunOutputs(models_out[run.info.run_id]),
        )
        for run in runs
    ]


def dataset_condition(key: str, compare: Any) -> Any:
    """Run ids with a dataset input whose `name`, `digest` or `context` (the input tag
    `mlflow.data.context`) satisfies `compare(column)`: MLflow's `datasets.<key>` filter."""
    if key == "context":
        return sa.select(SqlDatasetInputTag.run_uuid).where(
            SqlDatasetInputTag.key == DATASET_CONTEXT, compare(SqlDatasetInputTag.value)
        )
    column = {"name": SqlDatasetInput.name, "digest": SqlDatasetInput.digest}[key]
    return sa.select(SqlDatasetInput.run_uuid).where(compare(column))


__all__ = ["dataset_condition", "with_inputs", "write_inputs", "write_outputs"]
