"""The training-code API on the embedded default store in a temporary working directory."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import shipyard
from shipyard.exceptions import InvalidInput, InvalidState, ResourceNotFound
from shipyard.tracking import fluent


def test_embedded_default_lives_in_the_cwd(fluent_cwd: Path) -> None:
    assert shipyard.get_tracking_uri() == f"sqlite:///{fluent_cwd / 'shipyard.db'}"
    with shipyard.start_run() as run:
        shipyard.log_metric("m", 1.0)
    assert (fluent_cwd / "shipyard.db").is_file()
    assert run.info.artifact_uri.startswith((fluent_cwd / "shipyard-artifacts").as_uri())
    assert run.info.experiment_id == "0"


def test_tracking_uri_from_environment_and_setter(fluent_cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPYARD_TRACKING_URI", f"sqlite:///{fluent_cwd / 'env.db'}")
    assert shipyard.get_tracking_uri().endswith("env.db")
    shipyard.set_tracking_uri(fluent_cwd / "elsewhere")
    assert shipyard.get_tracking_uri() == f"sqlite:///{fluent_cwd / 'elsewhere' / 'shipyard.db'}"
    shipyard.set_tracking_uri(None)
    assert shipyard.get_tracking_uri().endswith("env.db")


def test_run_records_everything_and_finishes(fluent_cwd: Path) -> None:
    experiment = shipyard.set_experiment("fluent")
    assert shipyard.get_experiment_by_name("fluent") == experiment
    with shipyard.start_run(run_name="first", tags={"team": "ml"}, description="notes") as run:
        assert shipyard.active_run() is run
        shipyard.log_param("lr", 0.01)
        shipyard.log_params({"epochs": 3, "opt": "adam"})
        for step in range(3):
            shipyard.log_metrics({"loss": 1.0 / (step + 1), "acc": step / 3}, step=step)
        shipyard.set_tag("stage", "dev")
        shipyard.set_tags({"a": 1})
        assert shipyard.get_artifact_uri("x/y.txt") == run.info.artifact_uri + "/x/y.txt"
    assert shipyard.active_run() is None
    got = shipyard.Client().get_run(run.info.run_id)
    assert got.info.status == "FINISHED" and got.info.end_time is not None
    assert got.info.experiment_id == experiment.experiment_id
    assert got.data.params == {"lr": "0.01", "epochs": "3", "opt": "adam"}
    assert got.data.metrics == {"loss": 1 / 3, "acc": 2 / 3}
    tags = got.data.tags
    assert (tags["team"], tags["stage"], tags["a"], tags["mlflow.runName"]) == ("ml", "dev", "1", "first")
    assert tags["mlflow.note.content"] == "notes"
    assert tags["mlflow.source.type"] == "LOCAL" and tags["mlflow.source.name"]
    assert "mlflow.user" in tags
    assert [m.value for m in shipyard.Client().get_metric_history(run.info.run_id, "loss")] == [1.0, 0.5, 1 / 3]


def test_git_commit_tag_when_the_source_is_in_a_repository(fluent_cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    subprocess.run(["git", "init", "-q", str(fluent_cwd)], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(fluent_cwd),
            "-c",
            "user.email=a@b",
            "-c",
            "user.name=a",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "x",
        ],
        check=True,
    )
    commit = subprocess.run(
        ["git", "-C", str(fluent_cwd), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    script = fluent_cwd / "train.py"
    script.write_text("")
    monkeypatch.setattr("sys.argv", [str(script)])
    with shipyard.start_run() as run:
        pass
    tags = shipyard.Client().get_run(run.info.run_id).data.tags
    assert tags["mlflow.source.git.commit"] == commit
    assert tags["mlflow.source.name"] == str(script)


def test_nested_runs_resume_and_failure_status(fluent_cwd: Path) -> None:
    with shipyard.start_run() as parent:
        with pytest.raises(InvalidState, match="nested=True"):
            shipyard.start_run()
        with shipyard.start_run(nested=True) as child:
            assert shipyard.active_run() is child
        assert shipyard.active_run() is parent
    client = shipyard.Client()
    assert client.get_run(child.info.run_id).info.parent_run_id == parent.info.run_id
    assert client.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert client.get_parent_run(child.info.run_id).info.run_id == parent.info.run_id  # type: ignore[union-attr]

    with pytest.raises(ZeroDivisionError), shipyard.start_run() as failing:
        shipyard.log_metric("before", 1.0)
        1 / 0  # noqa: B018
    failed = client.get_run(failing.info.run_id)
    assert failed.info.status == "FAILED"
    assert failed.data.metrics == {"before": 1.0}  # logged before the error, still written

    with shipyard.start_run(run_id=failing.info.run_id) as resumed:
        assert client.get_run(resumed.info.run_id).info.status == "RUNNING"
        shipyard.log_metric("after", 2.0)
    resumed_run = client.get_run(failing.info.run_id)
    assert resumed_run.info.status == "FINISHED"
    assert resumed_run.data.metrics == {"before": 1.0, "after": 2.0}


def test_end_run_and_implicit_run(fluent_cwd: Path) -> None:
    shipyard.log_metric("x", 1.0)  # starts a run, as MLflow does
    run = shipyard.active_run()
    assert run is not None
    shipyard.end_run(status="KILLED")
    assert shipyard.active_run() is None
    assert shipyard.last_active_run_id() == run.info.run_id
    assert shipyard.Client().get_run(run.info.run_id).info.status == "KILLED"
    with pytest.raises(InvalidInput, match="RUNNING"):
        shipyard.end_run(status="RUNNING")
    shipyard.end_run()  # nothing active: a no-op


def test_bad_values_fail_in_the_caller(fluent_cwd: Path) -> None:
    with shipyard.start_run():
        with pytest.raises(InvalidInput, match="params are immutable"):
            shipyard.log_param("lr", 0.1)
            shipyard.log_param("lr", 0.2)
        shipyard.log_param("lr", 0.1)  # the same value again is fine
        with pytest.raises(InvalidInput, match="expected a number"):
            shipyard.log_metric("m", "high")  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match="expected a number"):
            shipyard.log_metric("m", True)
        with pytest.raises(InvalidInput, match="step"):
            shipyard.log_metric("m", 1.0, step=1.5)  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match="key"):
            shipyard.log_metric("../m", 1.0)
        with pytest.raises(InvalidInput, match="key"):
            shipyard.log_metric(3, 1.0)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="exactly one"):
        shipyard.set_experiment()
    with pytest.raises(ResourceNotFound):
        shipyard.set_experiment(experiment_id="424242")


def test_search_runs_dataframe(fluent_cwd: Path) -> None:
    shipyard.set_experiment("search")
    for lr, loss in ((0.1, 0.5), (0.01, 0.2)):
        with shipyard.start_run():
            shipyard.log_param("lr", lr)
            shipyard.log_metric("loss", loss)
    frame = shipyard.search_runs(filter_string="metrics.loss < 0.4")
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns[:6]) == ["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"]
    assert frame["params.lr"].tolist() == ["0.01"]
    assert str(frame["start_time"].dtype).startswith("datetime64")
    ordered = shipyard.search_runs(experiment_names=["search"], order_by=["metrics.loss DESC"])
    assert ordered["metrics.loss"].tolist() == [0.5, 0.2]
    assert "tags.mlflow.runName" in ordered.columns
    as_list = shipyard.search_runs(filter_string="metrics.loss < 0.4", output_format="list")
    assert [run.data.params["lr"] for run in as_list] == ["0.01"]
    empty = shipyard.search_runs(filter_string="params.lr = 'none'")
    assert empty.empty and "run_id" in empty.columns
    with pytest.raises(InvalidInput, match="'OR'"):
        shipyard.search_runs(filter_string="metrics.loss < 1 OR metrics.loss > 2")
    with pytest.raises(ResourceNotFound):
        shipyard.search_runs(experiment_names=["nope"])


def test_fluent_artifacts(fluent_cwd: Path) -> None:
    page = fluent_cwd / "report.html"
    page.write_text("<p>hi</p>")
    data = fluent_cwd / "data"
    data.mkdir()
    (data / "rows.csv").write_text("a,b\n1,2\n")
    with shipyard.start_run() as run:
        shipyard.log_artifact(page, "reports")
        shipyard.log_artifacts(data, "data")
        shipyard.log_text("t", "notes.txt")
        shipyard.log_dict({"k": 1}, "d.json")
    paths = [f.path for f in shipyard.Client().list_artifacts(run.info.run_id)]
    assert paths == ["d.json", "data", "notes.txt", "reports"]
    local = shipyard.Client().download_artifacts(run.info.run_id, "reports/report.html", fluent_cwd / "dl")
    assert Path(local).read_text() == "<p>hi</p>"


def test_active_runs_are_per_context(fluent_cwd: Path) -> None:
    """A thread started without a copied context has no active run (the stack is a ContextVar)."""
    import threading

    seen: list[object] = []
    with shipyard.start_run():
        thread = threading.Thread(target=lambda: seen.append(fluent.active_run()))
        thread.start()
        thread.join()
    assert seen == [None]
