"""`MlflowClient` calls: experiments (create, tags, rename, delete, restore, search) and runs
(create, log_batch, tags, update, terminate, delete, restore, search with paging)."""

import sys
from pathlib import Path

from compat_report import Report

if sys.argv[1] == "shipyard":
    import shipyard as mlflow
else:
    import mlflow

report = Report()
client = mlflow.MlflowClient(tracking_uri=report.tracking_uri)
ViewType = mlflow.entities.ViewType
Metric, Param, RunTag = mlflow.entities.Metric, mlflow.entities.Param, mlflow.entities.RunTag

first = client.create_experiment("first", tags={"owner": "a"})
second = client.create_experiment("second")
client.set_experiment_tag(second, "owner", "b")
client.rename_experiment(second, "second-renamed")
experiment = client.get_experiment_by_name("second-renamed")
report["experiment"] = {
    "id": report.id("experiment", experiment.experiment_id),
    "name": experiment.name,
    "tags": {k: v for k, v in experiment.tags.items() if not k.startswith("mlflow.")},
    "stage": experiment.lifecycle_stage,
}
report["get_experiment_by_name.missing"] = client.get_experiment_by_name("nope")
third = client.create_experiment("third")
client.delete_experiment(third)
report["deleted.stage"] = client.get_experiment(third).lifecycle_stage


def names(**kwargs):
    return sorted(e.name for e in client.search_experiments(**kwargs))


report["search_experiments.active"] = names()
report["search_experiments.deleted"] = names(view_type=ViewType.DELETED_ONLY)
report["search_experiments.all"] = names(view_type=ViewType.ALL)
report["search_experiments.filter_tag"] = names(filter_string="tags.owner = 'b'")
report["search_experiments.filter_name"] = names(filter_string="name LIKE 'f%'")
report["search_experiments.order"] = [e.name for e in client.search_experiments(order_by=["name DESC"])]
client.restore_experiment(third)
report["restored.stage"] = client.get_experiment(third).lifecycle_stage

run_ids = []
for index in range(5):
    run = client.create_run(first, run_name=f"run-{index}", tags={"index": str(index)})
    run_ids.append(run.info.run_id)
    report[f"created.{index}"] = {"status": run.info.status, "name": run.info.run_name}
    client.log_batch(
        run.info.run_id,
        metrics=[Metric("score", index * 0.1, 0, step) for step in range(3)],
        params=[Param("index", str(index)), Param("even", str(index % 2 == 0))],
        tags=[RunTag("batch", "yes")],
    )
    client.log_metric(run.info.run_id, "single", float(index), step=7)
    client.log_param(run.info.run_id, "lr", 0.01)
client.set_tag(run_ids[0], "to_delete", "x")
client.delete_tag(run_ids[0], "to_delete")
client.update_run(run_ids[1], name="renamed-run")
client.set_terminated(run_ids[2], status="FAILED")
client.set_terminated(run_ids[3])
client.delete_run(run_ids[4])

runs = [client.get_run(run_id) for run_id in run_ids]
report["runs"] = [
    {
        "name": r.info.run_name,
        "status": r.info.status,
        "stage": r.info.lifecycle_stage,
        "params": r.data.params,
        "metrics": r.data.metrics,
        "tags": {k: v for k, v in r.data.tags.items() if not k.startswith("mlflow.")},
        "runName": r.data.tags.get("mlflow.runName"),
    }
    for r in runs
]
report["history"] = [(m.step, m.value) for m in client.get_metric_history(run_ids[3], "score")]


def run_names(**kwargs):
    return [r.info.run_name for r in client.search_runs([first], **kwargs)]


report["search_runs.order"] = run_names(order_by=["metrics.score DESC"])
report["search_runs.filter_metric"] = run_names(filter_string="metrics.score >= 0.2", order_by=["params.index ASC"])
report["search_runs.filter_param"] = sorted(run_names(filter_string="params.even = 'True'"))
report["search_runs.filter_status"] = run_names(filter_string="attributes.status = 'FAILED'")
report["search_runs.filter_name"] = run_names(filter_string="attributes.run_name = 'renamed-run'")
report["search_runs.deleted"] = run_names(run_view_type=ViewType.DELETED_ONLY)
report["search_runs.all_count"] = len(run_names(run_view_type=ViewType.ALL))
pages, token = [], None
while True:
    page = client.search_runs([first], order_by=["params.index ASC"], max_results=2, page_token=token)
    pages.append([r.info.run_name for r in page])
    token = page.token
    if not token:
        break
report["search_runs.pages"] = pages
client.restore_run(run_ids[4])
report["restored_run.stage"] = client.get_run(run_ids[4]).info.lifecycle_stage

client.log_text(run_ids[0], "text body", "notes/a.txt")
client.log_dict(run_ids[0], {"k": [1, 2]}, "data.json")
report["artifacts.root"] = sorted((f.path, f.is_dir) for f in client.list_artifacts(run_ids[0]))
report["artifacts.notes"] = [(f.path, f.file_size) for f in client.list_artifacts(run_ids[0], "notes")]
local = client.download_artifacts(run_ids[0], "data.json", str(report.root / "dl"))
report["download"] = (report.path(local), Path(local).read_text())
report.write()
