"""`shipyard experiments|runs|artifacts ...` against a real sqlite store, with MLflow's flags."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from shipyard.tracking.client import TrackingClient

Invoke = Callable[..., Result]
LoggedRun = Callable[..., tuple[str, str]]


def test_experiments_create_search_rename_delete_restore(invoke: Invoke, store_uri: str) -> None:
    created = invoke("experiments", "create", "-n", "fraud", "--tracking-uri", store_uri)
    assert created.exit_code == 0, created.output
    experiment_id = created.output.strip().rsplit(" ", 1)[1]
    assert created.output.strip() == f"Created experiment 'fraud' with id {experiment_id}"
    assert TrackingClient(store_uri).get_experiment(experiment_id).name == "fraud"

    listed = invoke("experiments", "search", "--tracking-uri", store_uri).output.splitlines()
    assert listed[0].split() == ["Experiment", "Id", "Name", "Artifact", "Location"]
    assert [line.split()[:2] for line in listed[2:]] == [["0", "Default"], [experiment_id, "fraud"]]

    renamed = invoke(
        "experiments", "rename", "-x", experiment_id, "--new-name", "fraud-v2", "--tracking-uri", store_uri
    )
    assert renamed.exit_code == 0 and "renamed to 'fraud-v2'" in renamed.output
    assert invoke("experiments", "delete", "-x", experiment_id, "--tracking-uri", store_uri).exit_code == 0
    assert TrackingClient(store_uri).get_experiment(experiment_id).lifecycle_stage == "deleted"
    active = invoke("experiments", "search", "--tracking-uri", store_uri).output
    deleted = invoke("experiments", "search", "--view", "deleted_only", "--tracking-uri", store_uri).output
    assert "fraud-v2" not in active and "fraud-v2" in deleted and "Default" not in deleted
    assert invoke("experiments", "restore", "-x", experiment_id, "--tracking-uri", store_uri).exit_code == 0
    assert TrackingClient(store_uri).get_experiment(experiment_id).lifecycle_stage == "active"
    limited = invoke("experiments", "search", "--max-results", "1", "--tracking-uri", store_uri).output
    assert len(limited.splitlines()) == 3  # header, dashes, one row


def test_experiments_csv_has_the_runs_columns(
    invoke: Invoke, store_uri: str, tmp_path: Path, logged_run: LoggedRun
) -> None:
    experiment_id, run_id = logged_run(store_uri, tmp_path)
    out = tmp_path / "runs.csv"
    result = invoke("experiments", "csv", "-x", experiment_id, "-o", str(out), "--tracking-uri", store_uri)
    assert result.exit_code == 0 and str(out) in result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 1 and rows[0]["run_id"] == run_id
    assert rows[0]["params.alpha"] == "0.5" and float(rows[0]["metrics.loss"]) == 1.0 / 3
    to_stdout = invoke("experiments", "csv", "-x", experiment_id, "--tracking-uri", store_uri)
    assert list(csv.DictReader(io.StringIO(to_stdout.output)))[0]["run_id"] == run_id


def test_runs_list_describe_delete_restore(
    invoke: Invoke, store_uri: str, tmp_path: Path, logged_run: LoggedRun
) -> None:
    experiment_id, run_id = logged_run(store_uri, tmp_path)
    listed = invoke("runs", "list", "--experiment-id", experiment_id, "--tracking-uri", store_uri).output.splitlines()
    assert listed[0].split() == ["Date", "Name", "ID"] and listed[2].split()[-2:] == ["first", run_id]

    described = json.loads(invoke("runs", "describe", "--run-id", run_id, "--tracking-uri", store_uri).output)
    assert described["info"]["run_id"] == run_id and described["info"]["status"] == "FINISHED"
    assert described["data"]["params"] == {"alpha": "0.5"} and described["data"]["metrics"]["loss"] == 1.0 / 3

    deleted = invoke("runs", "delete", "--run-id", run_id, "--tracking-uri", store_uri)
    assert deleted.output.strip() == f"Run with ID {run_id} has been deleted."
    assert run_id not in invoke("runs", "list", "--experiment-id", experiment_id, "--tracking-uri", store_uri).output
    shown = invoke("runs", "list", "--experiment-id", experiment_id, "-v", "deleted_only", "--tracking-uri", store_uri)
    assert run_id in shown.output
    assert invoke("runs", "restore", "--run-id", run_id, "--tracking-uri", store_uri).exit_code == 0
    assert TrackingClient(store_uri).get_run(run_id).info.lifecycle_stage == "active"


def test_artifacts_list_download_and_log(invoke: Invoke, store_uri: str, tmp_path: Path, logged_run: LoggedRun) -> None:
    _, run_id = logged_run(store_uri, tmp_path)
    listed = json.loads(invoke("artifacts", "list", "-r", run_id, "--tracking-uri", store_uri).output)
    assert listed == [{"path": "notes.txt", "is_dir": False, "file_size": 5}, {"path": "sub", "is_dir": True}]
    nested = json.loads(invoke("artifacts", "list", "-r", run_id, "-a", "sub", "--tracking-uri", store_uri).output)
    assert [entry["path"] for entry in nested] == ["sub/notes.txt"]

    dst = tmp_path / "dl"
    got = invoke("artifacts", "download", "-r", run_id, "-a", "sub", "-d", str(dst), "--tracking-uri", store_uri)
    assert got.exit_code == 0 and Path(got.output.strip(), "notes.txt").read_text() == "hello"
    by_uri = invoke(
        "artifacts",
        "download",
        "-u",
        f"runs:/{run_id}/notes.txt",
        "-d",
        str(tmp_path / "u"),
        "--tracking-uri",
        store_uri,
    )
    assert Path(by_uri.output.strip()).read_text() == "hello"
    artifact_uri = TrackingClient(store_uri).get_run(run_id).info.artifact_uri
    by_file_uri = invoke("artifacts", "download", "-u", f"{artifact_uri}/sub/notes.txt", "-d", str(tmp_path / "f"))
    assert Path(by_file_uri.output.strip()).read_text() == "hello"

    (tmp_path / "extra.txt").write_text("more")
    folder = tmp_path / "folder"
    (folder / "deep").mkdir(parents=True)
    (folder / "deep" / "x.txt").write_text("x")
    one = invoke("artifacts", "log-artifact", "-l", str(tmp_path / "extra.txt"), "-r", run_id, "-a", "more",
                 "--tracking-uri", store_uri)  # fmt: skip
    many = invoke("artifacts", "log-artifacts", "-l", str(folder), "-r", run_id, "--tracking-uri", store_uri)
    assert one.exit_code == 0 and many.exit_code == 0, one.output + many.output
    paths = {f.path for f in TrackingClient(store_uri).list_artifacts(run_id)}
    assert {"more", "deep", "notes.txt", "sub"} == paths
    assert [f.path for f in TrackingClient(store_uri).list_artifacts(run_id, "more")] == ["more/extra.txt"]


def test_the_store_is_the_flag_then_shipyard_then_mlflow_variable(invoke: Invoke, tmp_path: Path) -> None:
    a, b, c = (f"sqlite:///{tmp_path / name / 'shipyard.db'}" for name in ("a", "b", "c"))
    invoke("experiments", "create", "-n", "from-mlflow", env={"MLFLOW_TRACKING_URI": a})
    invoke("experiments", "create", "-n", "from-shipyard", env={"MLFLOW_TRACKING_URI": a, "SHIPYARD_TRACKING_URI": b})
    invoke("experiments", "create", "-n", "from-flag", "--tracking-uri", c, env={"SHIPYARD_TRACKING_URI": b})
    names = {uri: {e.name for e in TrackingClient(uri).search_experiments()} for uri in (a, b, c)}
    assert names == {a: {"Default", "from-mlflow"}, b: {"Default", "from-shipyard"}, c: {"Default", "from-flag"}}
    listed = invoke("runs", "list", env={"MLFLOW_TRACKING_URI": a, "MLFLOW_EXPERIMENT_ID": "1"})
    assert listed.exit_code == 0 and listed.output.startswith("Date")


def test_mistakes_are_one_line_errors(invoke: Invoke, store_uri: str) -> None:
    missing = invoke("runs", "describe", "--run-id", "0" * 32, "--tracking-uri", store_uri)
    assert missing.exit_code == 1 and missing.output.startswith("Error: RESOURCE_DOES_NOT_EXIST: Run '")
    invoke("experiments", "create", "-n", "twice", "--tracking-uri", store_uri)
    again = invoke("experiments", "create", "-n", "twice", "--tracking-uri", store_uri)
    assert again.exit_code == 1 and "RESOURCE_ALREADY_EXISTS" in again.output and "Traceback" not in again.output
    no_flag = invoke("experiments", "create", "--tracking-uri", store_uri)
    assert no_flag.exit_code == 2 and "Missing option '-n' / '--experiment-name'" in no_flag.output
    bad_view = invoke("experiments", "search", "-v", "some", "--tracking-uri", store_uri)
    assert bad_view.exit_code == 2 and "'some' is not one of" in bad_view.output
    no_experiment = invoke("runs", "list", "--tracking-uri", store_uri)
    assert no_experiment.exit_code == 2 and "--experiment-id" in no_experiment.output
    both = invoke("artifacts", "download", "-r", "x", "-u", "runs:/x/y", "--tracking-uri", store_uri)
    assert both.exit_code == 2 and "exactly one of --run-id and --artifact-uri" in both.output
    bad_scheme = invoke("experiments", "search", "--tracking-uri", "ftp://host/x")
    assert bad_scheme.exit_code == 1 and "tracking URI scheme 'ftp' is not supported" in bad_scheme.output
