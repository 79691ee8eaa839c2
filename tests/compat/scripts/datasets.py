"""Datasets: `mlflow.data.from_pandas` / `from_numpy` (digest, source, schema, profile), logged
with `log_input` (context and tags) and read back from the run; sklearn autolog's `log_datasets`."""

import json
import sys

import numpy as np
import pandas as pd
from compat_report import Report
from scipy import sparse
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

if sys.argv[1] == "shipyard":
    import shipyard as mlflow
else:
    import mlflow

report = Report()
mlflow.set_tracking_uri(report.tracking_uri)
mlflow.set_experiment("datasets")
frame = load_iris(as_frame=True).frame
features, labels = load_iris(return_X_y=True)
mixed = pd.DataFrame({"word": ["a", "b", "c"], "count": [1, 2, 3], "when": pd.to_datetime(["2024-01-01"] * 3)})
big = pd.DataFrame({"x": np.arange(12_000, dtype=np.float64), "y": np.arange(12_000) % 7})


def described(dataset):
    """What a dataset object says about itself (the code source's tags hold machine details)."""
    values = dataset.to_dict()
    source = json.loads(values.pop("source"))
    values["source.keys"] = sorted(source)
    values["source"] = source if values["source_type"] != "code" else sorted(source["tags"])
    values["profile"] = json.loads(values["profile"])
    values["schema"] = json.loads(values["schema"]) if values["schema"] else None
    values["attribute.name"] = dataset.name
    values["attribute.digest"] = dataset.digest
    values["attribute.source_type"] = dataset.source._get_source_type()
    return values


datasets = {
    "iris": mlflow.data.from_pandas(frame, name="iris", targets="target"),
    "mixed": mlflow.data.from_pandas(mixed, source="s3://bucket/mixed.parquet"),
    "big": mlflow.data.from_pandas(big, source="https://example.com/big.csv", digest="given"),
    "numpy": mlflow.data.from_numpy(features, targets=labels, name="iris-np"),
    "numpy.dict": mlflow.data.from_numpy({"b": features[:, :2], "a": features[:, 2:]}, source="data/iris.npz"),
    "numpy.ints": mlflow.data.from_numpy(np.arange(30).reshape(10, 3), source="gs://bucket/ints"),
}
for key, dataset in datasets.items():
    report[f"dataset.{key}"] = described(dataset)
report["numpy.features_is_input"] = datasets["numpy"].features is features
report["pandas.df_is_input"] = datasets["iris"].df is frame
report["pandas.targets"] = datasets["iris"].targets

with mlflow.start_run() as run:
    mlflow.log_input(datasets["iris"], context="train", tags={"split": "80%"})
    mlflow.log_input(datasets["numpy"], context="eval")
    mlflow.log_input(datasets["mixed"])


def logged(run_id):
    """A run's dataset inputs as stored (sorted by name; the code source's tags by key only)."""
    inputs = []
    for entry in mlflow.get_run(run_id).inputs.dataset_inputs:
        source = json.loads(entry.dataset.source)
        inputs.append(
            {
                "name": entry.dataset.name,
                "digest": entry.dataset.digest,
                "source_type": entry.dataset.source_type,
                "source": sorted(source["tags"]) if entry.dataset.source_type == "code" else source,
                "schema": json.loads(entry.dataset.schema) if entry.dataset.schema else None,
                "profile": json.loads(entry.dataset.profile) if entry.dataset.profile else None,
                "tags": {tag.key: tag.value for tag in entry.tags},
            }
        )
    return sorted(inputs, key=lambda item: (item["name"], item["digest"]))


report["logged"] = logged(run.info.run_id)

mlflow.sklearn.autolog(log_datasets=True, log_models=False)
with mlflow.start_run() as pandas_run:
    LogisticRegression(max_iter=300).fit(frame.drop(columns="target"), frame["target"])
with mlflow.start_run() as numpy_run:
    LogisticRegression(max_iter=300).fit(features, labels)
with mlflow.start_run() as sparse_run:
    LogisticRegression(max_iter=300).fit(sparse.csr_matrix(features), labels)
with mlflow.start_run() as unlabelled_run:
    from sklearn.cluster import KMeans

    KMeans(n_clusters=2, n_init=1, random_state=0).fit(features)
mlflow.sklearn.autolog(disable=True)
report["autolog.pandas"] = logged(pandas_run.info.run_id)
report["autolog.numpy"] = logged(numpy_run.info.run_id)
report["autolog.sparse"] = logged(sparse_run.info.run_id)
report["autolog.unlabelled"] = logged(unlabelled_run.info.run_id)
report.write()
