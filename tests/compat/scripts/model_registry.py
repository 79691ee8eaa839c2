"""The model registry: log_model with registered_model_name, register_model, versions, stages,
aliases, tags, descriptions, search, loading by models:/ URI, renames and deletes."""

import sys
import warnings

import numpy as np
from compat_report import Report
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

if sys.argv[1] == "shipyard":
    import shipyard as mlflow
else:
    import mlflow

# NOTE: MLflow warns that stages are deprecated (FutureWarning); both sides still support them.
warnings.simplefilter("ignore", FutureWarning)

report = Report()
mlflow.set_tracking_uri(report.tracking_uri)
mlflow.set_experiment("registry")
X, y = load_iris(return_X_y=True, as_frame=True)
model = LogisticRegression(max_iter=500).fit(X, y)
expected = model.predict(X.iloc[:5]).tolist()

with mlflow.start_run() as run:
    info = mlflow.sklearn.log_model(model, name="model", registered_model_name="iris", input_example=X.iloc[:2])
report["log_model.registered_model_version"] = report.version(info.registered_model_version)
report["log_model.flavors"] = sorted(info.flavors)
registered = mlflow.register_model(f"runs:/{run.info.run_id}/model", "iris", tags={"origin": "register_model"})
report["register_model"] = {
    "name": registered.name,
    "version": report.version(registered.version),
    "tags": registered.tags,
}

client = mlflow.MlflowClient()
client.create_registered_model("other", tags={"team": "b"}, description="another model")
client.update_registered_model("iris", description="iris classifier")
client.set_registered_model_tag("iris", "task", "classification")


def describe_model(name):
    rm = client.get_registered_model(name)
    return {
        "name": rm.name,
        "description": report.text(rm.description),
        "tags": rm.tags,
        "aliases": {alias: report.version(v) for alias, v in rm.aliases.items()},
        "latest": sorted((report.version(v.version), v.current_stage) for v in rm.latest_versions),
    }


def describe_version(mv):
    return {
        "name": mv.name,
        "version": report.version(mv.version),
        "stage": mv.current_stage,
        "status": mv.status,
        "description": report.text(mv.description),
        "tags": mv.tags,
        "aliases": sorted(mv.aliases),
        "run": report.id("run", mv.run_id),
    }


report["model.before"] = describe_model("iris")
client.transition_model_version_stage("iris", 1, "Staging")
client.transition_model_version_stage("iris", 2, "Production")
report["model.staged"] = describe_model("iris")
report["latest.production"] = [describe_version(v) for v in client.get_latest_versions("iris", stages=["Production"])]
client.transition_model_version_stage("iris", 1, "Production", archive_existing_versions=True)
report["after_archive"] = [describe_version(client.get_model_version("iris", v)) for v in ("1", "2")]

client.set_registered_model_alias("iris", "champion", 2)
client.set_registered_model_alias("iris", "challenger", "1")
client.set_model_version_tag("iris", "2", "validated", "true")
client.update_model_version("iris", "2", description="second version")
report["by_alias"] = describe_version(client.get_model_version_by_alias("iris", "champion"))
report["model.aliases"] = describe_model("iris")

report["search_registered_models.all"] = sorted(m.name for m in client.search_registered_models())
report["search_registered_models.like"] = [m.name for m in client.search_registered_models("name LIKE 'ir%'")]
report["search_registered_models.tag"] = [m.name for m in client.search_registered_models("tags.team = 'b'")]
report["search_model_versions"] = sorted(
    (v.name, report.version(v.version), v.current_stage) for v in client.search_model_versions("name = 'iris'")
)
report["fluent.search_registered_models"] = [m.name for m in mlflow.search_registered_models(order_by=["name DESC"])]
report["fluent.search_model_versions"] = sorted(
    (v.name, report.version(v.version)) for v in mlflow.search_model_versions(filter_string="name = 'iris'")
)
report["fluent.search_model_versions.max"] = len(mlflow.search_model_versions(max_results=1))
report["search_model_versions.run"] = sorted(
    report.version(v.version) for v in client.search_model_versions(f"run_id = '{run.info.run_id}'")
)

for uri in ["models:/iris/1", "models:/iris/Production", "models:/iris@champion", f"runs:/{run.info.run_id}/model"]:
    predictions = mlflow.pyfunc.load_model(uri).predict(X.iloc[:5])
    report[f"predict {uri.replace(run.info.run_id, '<run>')}"] = np.asarray(predictions).tolist() == expected

client.delete_registered_model_alias("iris", "challenger")
client.delete_model_version_tag("iris", "2", "validated")
client.delete_registered_model_tag("iris", "task")
report["after_deletes"] = {"model": describe_model("iris"), "v2": describe_version(client.get_model_version("iris", 2))}
client.rename_registered_model("other", "renamed")
report["renamed"] = describe_model("renamed")
client.delete_model_version("iris", 1)
report["versions_after_delete"] = sorted(
    report.version(v.version) for v in client.search_model_versions("name = 'iris'")
)
client.delete_registered_model("renamed")
report["models_after_delete"] = sorted(m.name for m in client.search_registered_models())
report.write()
