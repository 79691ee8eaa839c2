"""Quickstart: train an iris classifier, log it, register it and promote it to Production.

Everything lands in the embedded default store of the current directory (`shipyard.db` and
`shipyard-artifacts/`), so the next command can serve it straight from the registry:

    python examples/quickstart.py && shipyard serve -m models:/iris/Production

Each run adds a new version of "iris" and moves it to Production, archiving the one before. It
also copies the request body the model saved beside itself (`serving_input_example.json`, three
rows in MLflow's `dataframe_split` format) into the current directory, and prints the `curl`
that sends it to the served model.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import shipyard

MODEL_NAME = "iris"
REQUEST_FILE = "serving_input_example.json"


def main() -> None:
    x, y = load_iris(return_X_y=True, as_frame=True)
    shipyard.set_experiment("quickstart")
    with shipyard.start_run(run_name="iris-logreg"):
        model = LogisticRegression(max_iter=500).fit(x, y)
        shipyard.log_param("max_iter", 500)
        shipyard.log_metric("train_accuracy", float(model.score(x, y)))
        info = shipyard.sklearn.log_model(
            model, name="model", input_example=x.head(3), registered_model_name=MODEL_NAME
        )

    version = info.registered_model_version
    client = shipyard.Client()
    client.transition_model_version_stage(MODEL_NAME, version, "Production", archive_existing_versions=True)
    uri = f"models:/{MODEL_NAME}/Production"
    loaded = shipyard.pyfunc.load_model(uri)
    shutil.copyfile(Path(client.resolve(uri).local_path) / REQUEST_FILE, REQUEST_FILE)
    print(f"registered {MODEL_NAME} version {version} and moved it to Production")
    print("predictions for 3 rows:", loaded.predict(x.head(3)).tolist())
    print(f"serve it:  shipyard serve -m {uri}")
    print(
        "then ask it, from this directory:  curl -s localhost:5000/invocations "
        f"-H 'Content-Type: application/json' -d @{REQUEST_FILE}"
    )


if __name__ == "__main__":
    main()
