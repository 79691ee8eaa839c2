"""MLflow's thin fluent calls (`get_run`, `get_parent_run`, `delete_run`, `delete_tag`,
`set_experiment_tag(s)`, `last_active_run`, `delete_experiment`, `is_tracking_uri_set`,
`log_input`, `log_table`, the run entities' dictionaries) and the fluent registry searches, on
the embedded store. tests/compat compares the same calls with the real mlflow; these cover the error paths."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

import shipyard
from shipyard.exceptions import InvalidInput, InvalidState
from shipyard.tracking import fluent_state


def test_delete_tag_needs_an_active_run(fluent_cwd: Path) -> None:
    with pytest.raises(InvalidState, match=r"delete_tag\('team'\) needs an active run"):
        shipyard.delete_tag("team")


def test_delete_tag_after_a_queued_set_tag(fluent_cwd: Path) -> None:
    with shipyard.start_run() as run:
        shipyard.set_tag("team", "a", synchronous=False)
        shipyard.delete_tag("team")
    assert "team" not in shipyard.get_run(run.info.run_id).data.tags


def test_experiment_tags_go_to_the_active_runs_experiment(fluent_cwd: Path) -> None:
    chosen = shipyard.set_experiment("chosen")
    other = shipyard.create_experiment("other")
    with shipyard.start_run(experiment_id=other):
        shipyard.set_experiment_tags({"a": "1", "b": "2"})
    shipyard.set_experiment_tag("c", "3")
    assert {k: v for k, v in shipyard.get_experiment(other).tags.items() if not k.startswith("mlflow.")} == {
        "a": "1",
        "b": "2",
    }
    assert shipyard.get_experiment(chosen.experiment_id).tags.get("c") == "3"


def test_last_active_run_is_the_one_ended_last(fluent_cwd: Path) -> None:
    with shipyard.start_run(run_name="parent") as parent:
        with shipyard.start_run(run_name="child", nested=True) as child:
            shipyard.log_param("p", 1)
        assert shipyard.get_parent_run(child.info.run_id).info.run_id == parent.info.run_id  # type: ignore[union-attr]
    last = shipyard.last_active_run()
    assert last is not None and last.info.run_name == "parent" and last.info.status == "FINISHED"
    shipyard.delete_run(child.info.run_id)
    assert shipyard.get_run(child.info.run_id).info.lifecycle_stage == "deleted"


def test_fluent_registry_searches_follow_pages_and_check_max_results(fluent_cwd: Path) -> None:
    model = LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])
    with shipyard.start_run():
        for name in ("a", "b", "c"):
            shipyard.sklearn.log_model(model, name=name, registered_model_name=name)
    assert sorted(m.name for m in shipyard.search_registered_models()) == ["a", "b", "c"]
    assert [m.name for m in shipyard.search_registered_models(max_results=2, order_by=["name DESC"])] == ["c", "b"]
    assert [v.name for v in shipyard.search_model_versions(filter_string="name = 'b'")] == ["b"]
    with pytest.raises(InvalidInput, match="max_results must be a positive integer, got 0"):
        shipyard.search_model_versions(max_results=0)


def real_mlflow() -> Any:
    """The real mlflow, the reference (its import warns about its own type hints: not ours)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import mlflow
        import mlflow.data

    return mlflow


def test_is_tracking_uri_set_follows_the_call_and_mlflows_variable(
    fluent_cwd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert shipyard.is_tracking_uri_set() is False
    shipyard.set_tracking_uri(f"sqlite:///{fluent_cwd / 'chosen.db'}")
    assert shipyard.is_tracking_uri_set() is True
    shipyard.set_tracking_uri(None)
    fluent_state.STATE.settings = None  # NOTE: a fresh process reads the variables again
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{fluent_cwd / 'env.db'}")
    assert shipyard.is_tracking_uri_set() is True


def test_delete_experiment_marks_it_deleted(fluent_cwd: Path) -> None:
    experiment_id = shipyard.create_experiment("doomed")
    shipyard.delete_experiment(experiment_id)
    assert shipyard.get_experiment(experiment_id).lifecycle_stage == "deleted"
    assert "doomed" not in [e.name for e in shipyard.search_experiments()]


def test_log_input_records_mlflows_dataset_in_the_runs_inputs(fluent_cwd: Path) -> None:
    mlflow = real_mlflow()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = pd.DataFrame({"x": [1.0, 2.0]})
        dataset = mlflow.data.from_pandas(frame, name="train-set")
        other = mlflow.data.from_pandas(frame.assign(y=1), name="eval-set")
    with shipyard.start_run() as run:
        shipyard.log_input(dataset, context="training", tags={"split": "a"})
        shipyard.log_input(dataset, "validation")  # same name and digest: kept once, as MLflow does
        shipyard.log_input(other, context="eval")
    inputs = shipyard.get_run(run.info.run_id).inputs.dataset_inputs
    entity = dataset._to_mlflow_entity()
    assert [(d.dataset.name, d.dataset.digest) for d in inputs] == [
        ("train-set", dataset.digest),
        ("eval-set", other.digest),
    ]
    assert (inputs[0].dataset.source_type, inputs[0].dataset.source) == (entity.source_type, entity.source)
    assert (inputs[0].dataset.schema, inputs[0].dataset.profile) == (entity.schema, entity.profile)
    assert {t.key: t.value for t in inputs[0].tags} == {"mlflow.data.context": "training", "split": "a"}
    assert shipyard.get_run(run.info.run_id).to_dictionary()["inputs"]["dataset_inputs"][1] == {
        "dataset": other._to_mlflow_entity().to_dictionary(),
        "tags": {"mlflow.data.context": "eval"},
    }
    assert not any(key.startswith("shipyard.") for key in shipyard.get_run(run.info.run_id).data.tags)
    found = shipyard.search_runs(filter_string="datasets.context = 'eval'", output_format="list")
    assert [r.info.run_id for r in found] == [run.info.run_id]


def test_log_input_refuses_what_it_cannot_record(fluent_cwd: Path) -> None:
    with pytest.raises(InvalidInput, match="parameter 'dataset' is required"):
        shipyard.log_input()
    with pytest.raises(InvalidInput, match="mlflow.data dataset or a Dataset entity; dict has no name, digest"):
        shipyard.log_input({"name": "x"})
    with pytest.raises(InvalidInput, match="parameter 'tags' must be a dict"):
        shipyard.log_input(object(), tags=["a"])  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="'model' is not supported by Shipyard: .*not as an MLflow 3 LoggedModel"):
        shipyard.log_input(model=object())


def test_log_table_appends_and_round_trips_through_pandas(fluent_cwd: Path) -> None:
    with shipyard.start_run() as run:
        shipyard.log_table({"q": ["a", "b"], "score": [0.5, 1.0]}, "tables/eval.parquet")
        shipyard.log_table(pd.DataFrame({"q": ["c"], "score": [2.0]}), artifact_file="tables/eval.parquet")
        shipyard.log_table({"q": "one", "score": 3.0}, "one.json")
    client = shipyard.MlflowClient()
    folder = fluent_cwd / "download"
    table = pd.read_parquet(client.download_artifacts(run.info.run_id, "tables/eval.parquet", str(folder)))
    assert table.to_dict(orient="list") == {"q": ["a", "b", "c"], "score": [0.5, 1.0, 2.0]}
    one = pd.read_json(client.download_artifacts(run.info.run_id, "one.json", str(folder)), orient="split")
    assert one.to_dict(orient="records") == [{"q": "one", "score": 3.0}]
    tag = json.loads(shipyard.get_run(run.info.run_id).data.tags["mlflow.loggedArtifacts"])
    assert tag == [{"path": "tables/eval.parquet", "type": "table"}, {"path": "one.json", "type": "table"}]


def test_log_table_errors_name_the_argument(fluent_cwd: Path) -> None:
    from PIL import Image

    with shipyard.start_run():
        with pytest.raises(InvalidInput, match=r"artifact_file 'eval.csv' must name a .json or .parquet file"):
            shipyard.log_table({"a": [1]}, "eval.csv")
        with pytest.raises(InvalidInput, match="data must be a pandas.DataFrame or a dict, got list"):
            shipyard.log_table([1, 2], "eval.json")  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match="column 'picture' holds images"):
            shipyard.log_table({"picture": [Image.new("RGB", (2, 2))]}, "eval.json")
        with pytest.raises(InvalidInput, match=r"artifact_file '../up.json' contains '..'"):
            shipyard.log_table({"a": [1]}, "../up.json")


def test_run_dictionaries_have_mlflows_shape(fluent_cwd: Path) -> None:
    mlflow = real_mlflow()
    with shipyard.start_run(run_name="shape") as active:
        shipyard.log_param("p", 1)
        shipyard.log_metric("m", 0.5)
        shipyard.set_tag("t", "v")
    run = shipyard.get_run(active.info.run_id)
    info = run.info
    theirs = mlflow.entities.RunInfo(
        info.run_id,
        info.experiment_id,
        info.user_id,
        info.status,
        info.start_time,
        info.end_time,
        info.lifecycle_stage,
        info.artifact_uri,
        run_name=info.run_name,
    )
    assert dict(info) == dict(theirs)
    data = mlflow.entities.RunData(
        metrics=[mlflow.entities.Metric("m", 0.5, 0, 0)],
        params=[mlflow.entities.Param("p", "1")],
        tags=[mlflow.entities.RunTag(k, v) for k, v in run.data.tags.items()],
    )
    assert run.data.to_dictionary() == data.to_dictionary()
    inputs, outputs = mlflow.entities.RunInputs([], []), mlflow.entities.RunOutputs([])
    assert run.to_dictionary() == mlflow.entities.Run(theirs, data, inputs, outputs).to_dictionary()
