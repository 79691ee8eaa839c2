"""MLflow code as written, on the embedded sqlite store: MLflow 2 and 3 keyword names for
`log_model`, registration, loading back by URI, `set_signature`, and the clear refusal of a
parameter Shipyard cannot honour (before any run is started)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import shipyard
from shipyard.exceptions import InvalidInput
from shipyard.models import ModelSignature, infer_signature, set_signature
from shipyard.types import ColSpec, DataType, Schema


@pytest.fixture()
def fitted() -> tuple[object, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    features = rng.normal(size=(40, 3))
    labels = (features[:, 0] > 0).astype(int)
    return LogisticRegression().fit(features, labels), features


def test_mlflow2_keywords_log_register_and_load(fluent_cwd: Path, fitted: tuple[object, np.ndarray]) -> None:
    model, features = fitted
    with shipyard.start_run() as run:
        info = shipyard.sklearn.log_model(sk_model=model, artifact_path="model", registered_model_name="x")
    run_id = run.info.run_id
    assert (info.model_uri, info.artifact_path, info.registered_model_version) == (f"runs:/{run_id}/model", "model", 1)
    assert (fluent_cwd / "shipyard.db").is_file()  # the embedded default store
    version = shipyard.MlflowClient().get_model_version("x", "1")
    assert (version.run_id, version.source.endswith("model")) == (run_id, True)

    for uri in ("models:/x/1", info.model_uri):
        loaded = shipyard.sklearn.load_model(uri)
        np.testing.assert_array_equal(loaded.predict(features), model.predict(features))  # type: ignore[attr-defined]
    copied = shipyard.sklearn.load_model(info.model_uri, dst_path=fluent_cwd / "download")
    np.testing.assert_array_equal(copied.predict(features), model.predict(features))
    assert (fluent_cwd / "download" / "model" / "MLmodel").is_file()


def test_mlflow3_name_and_python_model_keywords(fluent_cwd: Path) -> None:
    class AddOne(shipyard.pyfunc.PythonModel):  # type: ignore[misc]
        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
            return np.asarray(model_input) + 1

    with shipyard.start_run():
        info = shipyard.pyfunc.log_model(name="adder", python_model=AddOne(), await_registration_for=0)
        shipyard.log_metric("loss", 0.5, 1, True)  # MLflow's positions: step, synchronous
        shipyard.log_param("lr", 0.1, True)
    assert info.artifact_path == "adder"
    loaded = shipyard.pyfunc.load_model(model_uri=info.model_uri, suppress_warnings=True)
    np.testing.assert_array_equal(np.asarray(loaded.predict(np.array([[1.0, 2.0]]))), [[2.0, 3.0]])
    run = shipyard.Client().get_run(info.run_id)
    assert (run.data.metrics["loss"], run.data.params["lr"]) == (0.5, "0.1")


def test_an_unsupported_parameter_is_refused_before_anything_is_logged(
    fluent_cwd: Path, fitted: tuple[object, np.ndarray]
) -> None:
    model, _ = fitted
    with pytest.raises(InvalidInput, match="'conda_env' is not supported by Shipyard: .*pip_requirements"):
        shipyard.sklearn.log_model(sk_model=model, artifact_path="model", conda_env={"dependencies": ["python"]})
    with pytest.raises(InvalidInput, match="'tags' is not supported by Shipyard: .*not as an MLflow 3 LoggedModel"):
        shipyard.sklearn.log_model(model, name="model", tags={"team": "a"})
    assert shipyard.active_run() is None
    assert shipyard.search_runs(output_format="list") == []


def test_set_signature_rewrites_a_logged_models_mlmodel(fluent_cwd: Path, fitted: tuple[object, np.ndarray]) -> None:
    model, features = fitted
    with shipyard.start_run():
        info = shipyard.sklearn.log_model(model, name="model", signature=False)
    assert shipyard.pyfunc.load_model(info.model_uri).signature is None
    signature = ModelSignature(
        inputs=Schema([ColSpec(DataType.double, f"f{i}") for i in range(3)]),
        outputs=infer_signature(features, model.predict(features)).outputs,  # type: ignore[attr-defined]
    )
    set_signature(info.model_uri, signature)
    reloaded = shipyard.pyfunc.load_model(info.model_uri)
    assert reloaded.signature == signature
    assert [spec.type for spec in reloaded.signature.inputs.inputs] == ["double"] * 3
    shipyard.register_model(info.model_uri, "signed")
    with pytest.raises(InvalidInput, match="registered model versions are immutable"):
        set_signature("models:/signed/1", signature)
