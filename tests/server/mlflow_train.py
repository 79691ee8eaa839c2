"""The seed-style training script, written against the real `mlflow` client; the test runs it
in a subprocess with MLFLOW_TRACKING_URI pointing at `shipyard server`. Prints what it made."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import mlflow
import numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score, log_loss

model_name = sys.argv[1]
features, labels = load_iris(return_X_y=True, as_frame=True)
params = {"alpha": 0.001, "epochs": 5, "random_state": 7}

mlflow.set_experiment("iris-remote")
with mlflow.start_run(run_name="mlflow-client") as run:
    mlflow.log_params(params)
    model = SGDClassifier(loss="log_loss", alpha=params["alpha"], random_state=params["random_state"])
    for epoch in range(params["epochs"]):
        model.partial_fit(features, labels, classes=np.unique(labels))
        mlflow.log_metric("train_loss", log_loss(labels, model.predict_proba(features), labels=[0, 1, 2]), step=epoch)
        mlflow.log_metric("accuracy", accuracy_score(labels, model.predict(features)), step=epoch)
    mlflow.set_tag("team", "shipyard")
    mlflow.log_text("accuracy report\n", "summary.txt")
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.html"
        report.write_text("<html><body><h1>Iris</h1><script>alert(1)</script></body></html>")
        mlflow.log_artifact(str(report), "reports")
    mlflow.log_image(np.full((8, 8, 3), 200, dtype=np.uint8), "image.png")
    info = mlflow.sklearn.log_model(
        model, name="model", registered_model_name=model_name, input_example=features.head(3)
    )

loaded = mlflow.pyfunc.load_model(f"models:/{model_name}/1")
predictions = loaded.predict(features.head(5))
client = mlflow.MlflowClient()
client.transition_model_version_stage(model_name, "1", "Staging")
client.set_registered_model_alias(model_name, "champion", "1")
by_alias = client.get_model_version_by_alias(model_name, "champion")
history = client.get_metric_history(run.info.run_id, "accuracy")
listed = sorted(f.path for f in client.list_artifacts(run.info.run_id))
print(
    json.dumps(
        {
            "run_id": run.info.run_id,
            "artifact_uri": run.info.artifact_uri,
            "model_uri": info.model_uri,
            "predictions": [int(p) for p in predictions],
            "alias_version": by_alias.version,
            "history_steps": [m.step for m in history],
            "listed": listed,
        }
    )
)
