"""Every model URI a tracking server or Shipyard hands out loads back through Shipyard.

Against a real `shipyard server` and a real `mlflow server` (whose artifact URIs are
`mlflow-artifacts:/...`), with the real `mlflow` client logging the models (MLflow 3 logs a
model as a "logged model", `models:/m-<id>`, outside its run's artifacts), and against the
sqlite store: `runs:/`, `models:/m-...`, `mlflow-artifacts:/` (host-less and with a host), the
proxy's `http://` URLs and `get_artifact_uri(...)` load through `pyfunc.load_model`, the
flavor's `load_model` and `shipyard serve -m`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import shipyard
import shipyard.models
import shipyard.pyfunc
import shipyard.sklearn
from shipyard.exceptions import InvalidInput, ResourceNotFound

API = "/api/2.0/mlflow"
PROXY = "/api/2.0/mlflow-artifacts/artifacts"
SHIPYARD = str(Path(sys.executable).parent / "shipyard")


@pytest.fixture()
def fresh(mlflow_env_clean: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean process state whose fetch cache is under the test's tmp_path."""
    monkeypatch.setenv("SHIPYARD_CACHE_DIR", str(mlflow_env_clean / "cache"))
    return mlflow_env_clean


@pytest.fixture(params=["shipyard", "mlflow"])
def trained(request: pytest.FixtureRequest) -> tuple[Any, dict[str, Any]]:
    """(server, what the mlflow-client training script printed) on each kind of server."""
    if request.param == "shipyard":
        return request.getfixturevalue("shared_server"), request.getfixturevalue("mlflow_run")
    return request.getfixturevalue("mlflow_tracking_server"), request.getfixturevalue("mlflow_server_run")


def _features() -> Any:
    features, _labels = load_iris(return_X_y=True, as_frame=True)
    return features.head(5)


def _logged_model_uri(server: Any, model_uri: str) -> str:
    """The logged model's artifact URI as the server hands it out (`mlflow-artifacts:/...`)."""
    model_id = model_uri.removeprefix("models:/")
    answer = requests.get(f"{server.url}{API}/logged-models/{model_id}", timeout=10)
    assert answer.status_code == 200, answer.text
    uri: str = answer.json()["model"]["info"]["artifact_uri"]
    return uri


def test_every_uri_of_a_model_the_mlflow_client_logged_loads(trained: tuple[Any, dict[str, Any]], fresh: Path) -> None:
    server, run = trained
    shipyard.set_tracking_uri(server.url)
    artifact_uri = _logged_model_uri(server, run["model_uri"])
    assert artifact_uri.startswith("mlflow-artifacts:/")
    path = artifact_uri.removeprefix("mlflow-artifacts:").lstrip("/")
    host = server.url.removeprefix("http://")
    uris = [
        run["model_uri"],  # models:/m-<id>
        f"runs:/{run['run_id']}/model",  # MLflow 3: the model is not in the run's own artifacts
        artifact_uri,  # mlflow-artifacts:/<path>, on the current tracking server
        f"mlflow-artifacts://{host}/{path}",
        f"{server.url}{PROXY}/{path}",
    ]
    for uri in uris:
        predictions = shipyard.pyfunc.load_model(uri).predict(_features())
        assert [int(p) for p in predictions] == run["predictions"], uri
    flavor = shipyard.sklearn.load_model(run["model_uri"])
    assert [int(p) for p in flavor.predict(_features())] == run["predictions"]


def test_an_unknown_logged_model_and_a_run_without_the_model_are_errors_that_name_them(
    trained: tuple[Any, dict[str, Any]], fresh: Path
) -> None:
    server, run = trained
    shipyard.set_tracking_uri(server.url)
    missing = "m-" + "0" * 32
    with pytest.raises(ResourceNotFound, match=missing):
        shipyard.pyfunc.load_model(f"models:/{missing}")
    with pytest.raises(ResourceNotFound, match="logged no model named 'no-such-model'"):
        shipyard.pyfunc.load_model(f"runs:/{run['run_id']}/no-such-model")


def test_a_sqlite_store_resolves_the_logged_models_its_server_made(
    shared_server: Any, mlflow_run: dict[str, Any], fresh: Path
) -> None:
    """The store the shared server runs on, opened directly: `models:/m-...` still loads."""
    shipyard.set_tracking_uri(shared_server.db_uri)
    model = shipyard.pyfunc.load_model(mlflow_run["model_uri"])
    assert [int(p) for p in model.predict(_features())] == mlflow_run["predictions"]


@pytest.mark.parametrize("store", ["sqlite", "shipyard", "mlflow"])
def test_get_artifact_uri_loads_back(store: str, request: pytest.FixtureRequest, fresh: Path) -> None:
    """What `get_artifact_uri("model")` hands out (a file URI, or the proxy's URL) loads back."""
    tracking_uri = {
        "sqlite": lambda: f"sqlite:///{fresh / 'store.db'}",
        "shipyard": lambda: request.getfixturevalue("shared_server").url,
        "mlflow": lambda: request.getfixturevalue("mlflow_tracking_server").url,
    }[store]()
    shipyard.set_tracking_uri(tracking_uri)
    x = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.2]])
    y = np.array([0, 1, 0, 1])
    sk_model = LogisticRegression().fit(x, y)
    with shipyard.start_run():
        shipyard.sklearn.log_model(sk_model, "model")
        uri = shipyard.get_artifact_uri("model")
    expected = sk_model.predict(x).tolist()
    assert shipyard.pyfunc.load_model(uri).predict(x).tolist() == expected
    assert shipyard.sklearn.load_model(uri).predict(x).tolist() == expected


@pytest.mark.parametrize("server_fixture", ["shared_server", "mlflow_tracking_server"])
def test_set_signature_on_a_proxy_uri_writes_through_the_server(
    server_fixture: str, request: pytest.FixtureRequest, fresh: Path
) -> None:
    """Not into the read-only fetch cache: the next load (fetched again) has the signature."""
    server = request.getfixturevalue(server_fixture)
    shipyard.set_tracking_uri(server.url)
    x = np.array([[0.0, 1.0], [1.0, 0.0]])
    with shipyard.start_run():
        shipyard.sklearn.log_model(LogisticRegression().fit(x, [0, 1]), "model")
        uri = shipyard.get_artifact_uri("model")
    assert shipyard.pyfunc.load_model(uri).signature is None
    signature = shipyard.models.infer_signature(x, np.array([0, 1]))
    for spelling in (uri, "mlflow-artifacts:/" + uri.partition(PROXY)[2].lstrip("/")):
        shipyard.models.set_signature(spelling, signature)
        assert shipyard.pyfunc.load_model(spelling).signature == signature, spelling


def test_a_host_less_mlflow_artifacts_uri_needs_a_tracking_server(fresh: Path) -> None:
    shipyard.set_tracking_uri(f"sqlite:///{fresh / 'store.db'}")
    with pytest.raises(InvalidInput, match="names no server, and the tracking URI"):
        shipyard.pyfunc.load_model("mlflow-artifacts:/0/models/m-1/artifacts")


def test_shipyard_serve_serves_an_mlflow_servers_runs_and_logged_models(
    mlflow_tracking_server: Any, mlflow_server_run: dict[str, Any], serve_model: Callable[..., str]
) -> None:
    body = {"dataframe_split": _features().to_dict(orient="split")}
    for model_uri in (mlflow_server_run["model_uri"], f"runs:/{mlflow_server_run['run_id']}/model"):
        url = serve_model(model_uri, MLFLOW_TRACKING_URI=mlflow_tracking_server.url)
        answer = requests.post(url + "/invocations", json=body, timeout=30)
        assert answer.status_code == 200, answer.text
        assert [int(p) for p in answer.json()["predictions"]] == mlflow_server_run["predictions"], model_uri


def test_artifacts_download_reads_an_mlflow_artifacts_uri_from_the_tracking_server(
    mlflow_tracking_server: Any, mlflow_server_run: dict[str, Any], tmp_path: Path
) -> None:
    """`shipyard artifacts download -u mlflow-artifacts:/...`, as `mlflow artifacts download` takes it."""
    uri = mlflow_server_run["artifact_uri"] + "/summary.txt"
    assert uri.startswith("mlflow-artifacts:/")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "SHIPYARD_"))}
    out = subprocess.run(
        [SHIPYARD, "artifacts", "download", "-u", uri, "-d", str(tmp_path / "got")],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
        env={**env, "MLFLOW_TRACKING_URI": mlflow_tracking_server.url},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()).read_text() == "accuracy report\n"
