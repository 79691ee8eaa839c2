"""`<flavor>.log_model`: the model directory lands in the run's artifacts and loads back by URI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

import shipyard
from shipyard.exceptions import ArtifactPathError, InvalidInput


@pytest.fixture()
def fitted() -> tuple[object, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    features = rng.normal(size=(40, 3))
    labels = (features[:, 0] > 0).astype(int)
    return LogisticRegression().fit(features, labels), features


def test_sklearn_log_model_round_trip(fluent_cwd: Path, fitted: tuple[object, np.ndarray]) -> None:
    model, features = fitted
    with shipyard.start_run() as run:
        info = shipyard.sklearn.log_model(model, "classifier", input_example=features[:2])
    run_id = run.info.run_id
    assert info.model_uri == f"runs:/{run_id}/classifier"
    assert (info.run_id, info.artifact_path, info.name) == (run_id, "classifier", "classifier")
    assert "sklearn" in info.flavors and "python_function" in info.flavors
    assert info.signature is not None and info.model_uuid

    client = shipyard.Client()
    listed = {f.path for f in client.list_artifacts(run_id, "classifier")}
    assert "classifier/MLmodel" in listed
    mlmodel = yaml.safe_load(Path(client.download_artifacts(run_id, "classifier/MLmodel")).read_text())
    assert (mlmodel["run_id"], mlmodel["artifact_path"]) == (run_id, "classifier")
    history = json.loads(client.get_run(run_id).data.tags["mlflow.log-model.history"])
    assert [entry["artifact_path"] for entry in history] == ["classifier"]

    loaded = shipyard.pyfunc.load_model(info.model_uri)
    np.testing.assert_array_equal(np.asarray(loaded.predict(features)).ravel(), model.predict(features))  # type: ignore[attr-defined]


def test_pyfunc_log_model_and_registration(fluent_cwd: Path) -> None:
    class AddOne(shipyard.pyfunc.PythonModel):  # type: ignore[misc]
        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            return np.asarray(model_input) + 1

    with shipyard.start_run():
        info = shipyard.pyfunc.log_model("adder", python_model=AddOne(), registered_model_name="adder")
    assert info.registered_model_version == 1
    loaded = shipyard.pyfunc.load_model("models:/adder/1")
    np.testing.assert_array_equal(np.asarray(loaded.predict(np.array([[1.0, 2.0]]))), [[2.0, 3.0]])


def test_log_model_refuses_bad_names(fluent_cwd: Path, fitted: tuple[object, np.ndarray]) -> None:
    model, _ = fitted
    with shipyard.start_run():
        with pytest.raises(ArtifactPathError):
            shipyard.sklearn.log_model(model, "../outside")
        with pytest.raises(InvalidInput, match="not both"):
            shipyard.sklearn.log_model(model, name="a", artifact_path="b")
    assert not (fluent_cwd / "shipyard-artifacts" / "outside").exists()
