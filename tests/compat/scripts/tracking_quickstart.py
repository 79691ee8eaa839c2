"""The tracking quickstart: params, metrics with steps, tags, artifacts, nested runs, search_runs."""

import json
import sys
from pathlib import Path

import pandas as pd
from compat_report import Report

if sys.argv[1] == "shipyard":
    import shipyard as mlflow
else:
    import mlflow

report = Report()
report["is_tracking_uri_set.before"] = mlflow.is_tracking_uri_set()
mlflow.set_tracking_uri(report.tracking_uri)
report["is_tracking_uri_set.after"] = mlflow.is_tracking_uri_set()
report["MlflowException.is_root"] = issubclass(mlflow.exceptions.MlflowException, Exception) and (
    mlflow.MlflowException is mlflow.exceptions.MlflowException
)
report["tracking_uri"] = report.path(mlflow.get_tracking_uri())
experiment = mlflow.set_experiment("quickstart")
report["experiment"] = {
    "id": report.id("experiment", experiment.experiment_id),
    "name": experiment.name,
    "lifecycle_stage": experiment.lifecycle_stage,
}

mlflow.set_experiment_tag("project", "compat")
mlflow.set_experiment_tags({"owner": "suite", "purpose": "quickstart"})
tags = mlflow.get_experiment_by_name("quickstart").tags
report["experiment.tags"] = {k: v for k, v in tags.items() if not k.startswith("mlflow.")}

files = report.root / "to_log"
(files / "sub").mkdir(parents=True)
(files / "notes.txt").write_text("hello")
(files / "sub" / "deep.txt").write_text("deeper")

with mlflow.start_run(run_name="parent") as parent:
    report["active_run_is_parent"] = mlflow.active_run().info.run_id == parent.info.run_id
    mlflow.log_param("alpha", 0.5)
    mlflow.log_params({"layers": 3, "optimizer": "adam"})
    for step in range(4):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    mlflow.log_metrics({"accuracy": 0.9, "f1": 0.8})
    mlflow.set_tag("team", "compat")
    mlflow.set_tags({"stage": "dev", "priority": 1, "temporary": "x"})
    mlflow.delete_tag("temporary")
    mlflow.log_text("some text", "texts/readme.txt")
    mlflow.log_dict({"a": 1, "b": [1, 2]}, "config.json")
    mlflow.log_artifact(str(files / "notes.txt"))
    mlflow.log_artifacts(str(files), artifact_path="folder")
    mlflow.log_table({"inputs": ["a", "b"], "score": [0.5, 1.0]}, "tables/eval.json")
    mlflow.log_table(pd.DataFrame({"inputs": ["c"], "score": [2.0]}), "tables/eval.json")
    mlflow.log_table({"inputs": "single", "score": 3.0}, "tables/one_row.json")
    for child_name, acc in [("child-a", 0.7), ("child-b", 0.95)]:
        with mlflow.start_run(run_name=child_name, nested=True) as child:
            report[f"{child_name}.active"] = mlflow.active_run().info.run_id == child.info.run_id
            mlflow.log_metric("accuracy", acc)
            mlflow.log_param("kind", child_name)
    report["active_after_children_is_parent"] = mlflow.active_run().info.run_id == parent.info.run_id
    # NOTE: the default artifact folder's name differs (mlruns / shipyard-artifacts): only where
    # it sits and the part below it are compared.
    artifact_uri = report.path(mlflow.get_artifact_uri()).replace(parent.info.run_id, "<run>").split("/")
    report["artifact_uri"] = [artifact_uri[0], *artifact_uri[2:]]

report["active_after_exit"] = mlflow.active_run()
report["last_active_run"] = report.id("run", mlflow.last_active_run().info.run_id)

client = mlflow.MlflowClient()
run = client.get_run(parent.info.run_id)
report["run.name"] = run.info.run_name
report["run.status"] = run.info.status
report["run.lifecycle_stage"] = run.info.lifecycle_stage
report["run.experiment"] = report.id("experiment", run.info.experiment_id)
report["run.ended_after_start"] = run.info.end_time >= run.info.start_time
report["run.params"] = run.data.params
report["run.metrics"] = run.data.metrics
report["run.user_tags"] = {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")}
report["run.runName_tag"] = run.data.tags.get("mlflow.runName")
report["run.logged_artifacts_tag"] = json.loads(run.data.tags["mlflow.loggedArtifacts"])
for name in ("eval", "one_row"):
    table = Path(client.download_artifacts(run.info.run_id, f"tables/{name}.json", str(report.root / "tables")))
    report[f"log_table.{name}"] = json.loads(table.read_text())
data_dict = run.data.to_dictionary()
report["run.data.to_dictionary"] = {
    "keys": sorted(data_dict),
    "params": data_dict["params"],
    "metrics": data_dict["metrics"],
    "user_tags": {k: v for k, v in data_dict["tags"].items() if not k.startswith("mlflow.")},
}
run_dict = run.to_dictionary()
info = dict(run.info)
report["run.info.dict"] = {
    "keys": sorted(info),
    "run_id": report.id("run", info["run_id"]),
    "experiment_id": report.id("experiment", info["experiment_id"]),
    "same_as_to_dictionary": run_dict["info"] == info,
    "data_same": run_dict["data"] == data_dict,
    "status": info["status"],
    "run_name": info["run_name"],
}
fetched = mlflow.get_run(parent.info.run_id)
report["get_run.same"] = [fetched.data.params, fetched.data.metrics, fetched.data.tags] == [
    run.data.params,
    run.data.metrics,
    run.data.tags,
]
report["get_parent_run.of_parent"] = mlflow.get_parent_run(parent.info.run_id)
report["get_parent_run.of_child"] = report.id("run", mlflow.get_parent_run(child.info.run_id).info.run_id)
report["loss_history"] = [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, "loss")]


def tree(path=None):
    out = []
    for info in client.list_artifacts(run.info.run_id, path):
        out.append((info.path, info.is_dir, info.file_size))
        if info.is_dir:
            out.extend(tree(info.path))
    return out


report["artifacts"] = tree()
local = client.download_artifacts(run.info.run_id, "folder", str(report.root / "download"))
report["downloaded"] = sorted(
    (p.relative_to(local).as_posix(), p.read_text()) for p in Path(local).rglob("*") if p.is_file()
)

runs = mlflow.search_runs(experiment_names=["quickstart"], order_by=["metrics.accuracy DESC"])
report["search.df.shape"] = list(runs.shape)
report["search.df.columns"] = sorted(c for c in runs.columns if c.startswith(("params.", "metrics.", "tags.team")))
report["search.df.names"] = runs["tags.mlflow.runName"].tolist()
report["search.df.accuracy"] = runs["metrics.accuracy"].tolist()
report["search.df.status"] = runs["status"].tolist()
report["search.df.parent"] = [
    report.id("run", v) if isinstance(v, str) else repr(v) for v in runs["tags.mlflow.parentRunId"]
]
filtered = mlflow.search_runs(
    experiment_names=["quickstart"], filter_string="metrics.accuracy > 0.8", output_format="list"
)
report["search.filtered"] = sorted(r.info.run_name for r in filtered)
by_param = mlflow.search_runs(
    experiment_names=["quickstart"], filter_string="params.kind = 'child-a'", output_format="list"
)
report["search.by_param"] = [r.info.run_name for r in by_param]
by_tag = mlflow.search_runs(filter_string="tags.team = 'compat'", output_format="list")
report["search.by_tag_default_experiment"] = [r.info.run_name for r in by_tag]
mlflow.delete_run(child.info.run_id)
report["deleted_child.stage"] = mlflow.get_run(child.info.run_id).info.lifecycle_stage
report["search.after_delete"] = sorted(
    r.info.run_name for r in mlflow.search_runs(experiment_names=["quickstart"], output_format="list")
)
doomed = mlflow.create_experiment("doomed")
mlflow.delete_experiment(doomed)
report["delete_experiment.stage"] = mlflow.get_experiment(doomed).lifecycle_stage
report["delete_experiment.by_name_active"] = [e.name for e in mlflow.search_experiments() if e.experiment_id == doomed]
report.write()
