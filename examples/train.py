"""Train an iris classifier and log everything a training script usually logs.

Runs against the embedded default (./shipyard.db and ./shipyard-artifacts in the working
directory) or the store `SHIPYARD_TRACKING_URI` names. Prints the run id and the model URI.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score, confusion_matrix, log_loss
from sklearn.model_selection import train_test_split

import shipyard

params = {"alpha": 0.001, "epochs": 20, "random_state": 7}
features, labels = load_iris(return_X_y=True, as_frame=True)
x_train, x_test, y_train, y_test = train_test_split(features, labels, test_size=0.3, random_state=7)

shipyard.set_experiment("iris")
with shipyard.start_run(run_name="sgd-logistic") as run:
    shipyard.log_params(params)
    model = SGDClassifier(loss="log_loss", alpha=params["alpha"], random_state=params["random_state"])
    for epoch in range(params["epochs"]):
        model.partial_fit(x_train, y_train, classes=np.unique(labels))
        shipyard.log_metrics(
            {
                "train_loss": log_loss(y_train, model.predict_proba(x_train), labels=[0, 1, 2]),
                "test_accuracy": accuracy_score(y_test, model.predict(x_test)),
            },
            step=epoch,
        )

    accuracy = accuracy_score(y_test, model.predict(x_test))
    shipyard.log_text(f"test accuracy after {params['epochs']} epochs: {accuracy:.3f}\n", "summary.txt")
    with open("report.html", "w") as report:
        report.write(f"<html><body><h1>Iris</h1><p>accuracy {accuracy:.3f}</p></body></html>")
    shipyard.log_artifact("report.html", "reports")
    matrix = confusion_matrix(y_test, model.predict(x_test))
    shipyard.log_image((matrix * (255 // max(int(matrix.max()), 1))).astype(np.uint8), "confusion_matrix.png")
    info = shipyard.sklearn.log_model(model, "model", input_example=x_test.head(3))

print(f"run_id={run.info.run_id}")
print(f"model_uri={info.model_uri}")
