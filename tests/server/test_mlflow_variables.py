"""MLflow's `MLFLOW_*` variables reach what they configure, `SHIPYARD_*` wins over them, and every
entry point asks the same function for the current tracking and registry URI.

The REST ones run against real `shipyard server` subprocesses; the names are checked against the
real mlflow package (its `environment_variables` module and its `mlflow server` options).
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest
import requests

import shipyard
from shipyard.exceptions import InvalidInput, InvalidState
from shipyard.registry.client import RegistryClient
from shipyard.runtime.settings import ServeSettings
from shipyard.server.settings import ServerSettings
from shipyard.settings import MLFLOW_VARIABLES, Settings, settings_from_flags
from shipyard.tracking import fluent, fluent_state
from shipyard.tracking.client import TrackingClient

API = "/api/2.0/mlflow"
SHIPYARD = str(Path(sys.executable).parent / "shipyard")

SERVER_VARIABLES = {
    "MLFLOW_BACKEND_STORE_URI": "backend_store_uri",
    "MLFLOW_ARTIFACTS_DESTINATION": "default_artifact_root",
    "MLFLOW_DEFAULT_ARTIFACT_ROOT": "default_artifact_root",
    "MLFLOW_HOST": "host",
    "MLFLOW_PORT": "port",
    "MLFLOW_WORKERS": "workers",
}
"""`mlflow server`'s variables -> the `ServerSettings` field each sets."""

SERVE_VARIABLES = {
    "MLFLOW_HOST": "host",
    "MLFLOW_PORT": "port",
    "MLFLOW_MODELS_WORKERS": "workers",
    "MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT": "timeout",
}
"""`mlflow models serve`'s variables -> the `ServeSettings` field each sets."""

HONOURED = {
    "MLFLOW_TRACKING_URI": "test_tracking_uri_reaches_every_entry_point",
    "MLFLOW_REGISTRY_URI": "test_registry_uri_sends_the_registry_to_the_server",
    "MLFLOW_EXPERIMENT_NAME": "test_experiment_name_and_id_choose_the_fluent_experiment",
    "MLFLOW_EXPERIMENT_ID": "test_experiment_name_and_id_choose_the_fluent_experiment",
    "MLFLOW_RUN_ID": "test_run_id_is_resumed_by_the_first_start_run",
    "MLFLOW_ENABLE_ASYNC_LOGGING": "test_async_logging_off_writes_before_the_call_returns",
    "MLFLOW_TRACKING_TOKEN": "test_token_and_basic_auth_reach_the_server",
    "MLFLOW_TRACKING_USERNAME": "test_token_and_basic_auth_reach_the_server",
    "MLFLOW_TRACKING_PASSWORD": "test_token_and_basic_auth_reach_the_server",
    "MLFLOW_TRACKING_INSECURE_TLS": "test_tls_variables_reach_the_http_session",
    "MLFLOW_TRACKING_SERVER_CERT_PATH": "test_tls_variables_reach_the_http_session",
    "MLFLOW_TRACKING_CLIENT_CERT_PATH": "test_tls_variables_reach_the_http_session",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "test_retries_and_backoff_reach_the_rest_client",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "test_retries_and_backoff_reach_the_rest_client",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "test_retries_and_backoff_reach_the_rest_client",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "test_timeout_reaches_the_rest_client",
    "MLFLOW_S3_ENDPOINT_URL": "test_object_store_variables_reach_the_store_settings",
    "MLFLOW_S3_IGNORE_TLS": "test_object_store_variables_reach_the_store_settings",
    "MLFLOW_S3_UPLOAD_EXTRA_ARGS": "test_object_store_variables_reach_the_store_settings",
    "MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE": "test_object_store_variables_reach_the_store_settings",
    **{name: "test_server_variables_configure_shipyard_server" for name in SERVER_VARIABLES},
    **{
        name: "test_model_serving_variables_configure_shipyard_serve"
        for name in SERVE_VARIABLES
        if name not in SERVER_VARIABLES
    },
}
"""Every MLflow variable Shipyard honours -> the test below that proves it reaches its target."""


def _experiments(server: Any) -> list[str]:
    answer = requests.post(server.url + API + "/experiments/search", json={"max_results": 1000}, timeout=10)
    return [e["name"] for e in answer.json().get("experiments", [])]


pytestmark = pytest.mark.usefixtures("mlflow_env_clean")
Reread = Callable[..., None]


# --- the list ---------------------------------------------------------------------------------


def test_the_list_is_every_honoured_variable_with_mlflows_names() -> None:
    import mlflow.environment_variables as mlflow_variables

    with warnings.catch_warnings():  # mlflow's CLI module imports SQLAlchemy options it deprecated
        warnings.simplefilter("ignore")
        from mlflow.cli import server as mlflow_server

    assert set(HONOURED) == set(MLFLOW_VARIABLES) | set(SERVER_VARIABLES) | set(SERVE_VARIABLES)
    for name in MLFLOW_VARIABLES:
        assert getattr(mlflow_variables, name).name == name, name
    server_envvars = {param.envvar for param in mlflow_server.params}
    assert set(SERVER_VARIABLES) <= server_envvars
    for name, field in SERVER_VARIABLES.items():
        assert name in ServerSettings.model_fields[field].validation_alias.choices  # type: ignore[union-attr]
    from mlflow.models.cli import serve as mlflow_models_serve

    assert set(SERVE_VARIABLES) <= {param.envvar for param in mlflow_models_serve.params}
    for name, field in SERVE_VARIABLES.items():
        assert name in ServeSettings.model_fields[field].validation_alias.choices  # type: ignore[union-attr]
    here = Path(__file__).resolve().parent
    sources = "".join(
        (here / name).read_text() for name in ("test_mlflow_variables.py", "test_mlflow_http_variables.py")
    )
    for test in set(HONOURED.values()):
        assert f"def {test}(" in sources, test
    docs = (Path(__file__).resolve().parents[2] / "docs" / "mlflow-variables.md").read_text()
    for name in HONOURED:
        assert f"`{name}`" in docs, f"{name} is missing from docs/mlflow-variables.md"


SAMPLES: dict[type, tuple[str, str]] = {
    str: ("from-shipyard", "from-mlflow"),
    bool: ("true", "false"),
    int: ("3", "5"),
    float: ("1.5", "2.5"),
}


def _sample(annotation: Any) -> tuple[str, str]:
    for kind, values in SAMPLES.items():
        if annotation is kind or kind.__name__ in str(annotation):
            return values
    return ("/from/shipyard", "/from/mlflow")  # paths


@pytest.mark.parametrize("mlflow_name", sorted(MLFLOW_VARIABLES))
def test_each_variable_sets_its_field_and_shipyard_wins(mlflow_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    field = MLFLOW_VARIABLES[mlflow_name]
    shipyard_value, mlflow_value = _sample(Settings.model_fields[field].annotation)
    monkeypatch.setenv(mlflow_name, mlflow_value)
    alone = Settings()
    monkeypatch.setenv(f"SHIPYARD_{mlflow_name.removeprefix('MLFLOW_')}", shipyard_value)
    both = Settings()
    assert str(getattr(alone, field)).lower() == mlflow_value.lower()
    assert str(getattr(both, field)).lower() == shipyard_value.lower()
    assert Settings(**{field: getattr(both, field)}) == both  # field names still work


@pytest.mark.parametrize("mlflow_name", sorted(SERVER_VARIABLES))
def test_each_server_variable_sets_its_field_and_shipyard_wins(
    mlflow_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    field = SERVER_VARIABLES[mlflow_name]
    mlflow_value, shipyard_value = ("2", "3") if field in ("port", "workers") else ("/m", "/s")
    monkeypatch.setenv(mlflow_name, mlflow_value)
    assert str(getattr(ServerSettings(base=Settings()), field)) == mlflow_value
    monkeypatch.setenv(f"SHIPYARD_SERVER_{field.upper()}", shipyard_value)
    assert str(getattr(ServerSettings(base=Settings()), field)) == shipyard_value


def test_a_bad_variable_is_an_error_that_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "soon")
    with pytest.raises(
        InvalidInput,
        match=r"http_request_timeout \(SHIPYARD_HTTP_REQUEST_TIMEOUT / MLFLOW_HTTP_REQUEST_TIMEOUT\): Input should be",
    ):
        fluent_state.process_settings()
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_TIMEOUT")
    monkeypatch.setenv("MLFLOW_TRACKING_INSECURE_TLS", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", "/etc/ca.pem")
    with pytest.raises(ValueError, match="tracking_insecure_tls is true and tracking_server_cert_path is set"):
        Settings()
    monkeypatch.setenv("MLFLOW_DEFAULT_ARTIFACT_ROOT", "gs://bucket/runs")
    with pytest.raises(ValueError, match="'gs://bucket/runs' is a gs: URI"):
        ServerSettings(base=Settings(tracking_insecure_tls=False))


def test_object_store_variables_reach_the_store_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The S3 variables reach what every artifact repository is built with (the S3 tests in
    tests/stores/ show them reaching moto); bad values name the variable."""
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("MLFLOW_S3_IGNORE_TLS", "true")
    monkeypatch.setenv("MLFLOW_S3_UPLOAD_EXTRA_ARGS", '{"ServerSideEncryption": "aws:kms"}')
    monkeypatch.setenv("MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE", "path")
    stores = fluent_state.process_http().stores
    assert (stores.s3_endpoint_url, stores.s3_ignore_tls, stores.s3_addressing_style) == (
        "http://127.0.0.1:9",
        True,
        "path",
    )
    assert stores.s3_upload_extra_args == (("ServerSideEncryption", "aws:kms"),)
    monkeypatch.setenv("MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE", "sideways")
    fluent.set_tracking_uri(None)
    with pytest.raises(InvalidInput, match="MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE.*'sideways' is not one of"):
        fluent_state.process_http()


# --- the tracking and registry URI ------------------------------------------------------------


def test_set_tracking_uri_then_client_talks_to_that_server(shared_server: Any, tmp_path: Path) -> None:
    """The issue's first bug: `Client()` opened ./shipyard.db instead of the server."""
    shipyard.set_tracking_uri(shared_server.url)
    name = f"via-set-tracking-uri-{tmp_path.name}"
    client = shipyard.Client()
    assert (client.tracking_uri, client.registry_uri) == (shared_server.url, shared_server.url)
    client.create_experiment(name)
    assert name in _experiments(shared_server)
    assert TrackingClient().tracking_uri == RegistryClient().registry_uri == shipyard.get_tracking_uri()
    assert shipyard.get_registry_uri() == shared_server.url
    assert not (tmp_path / "shipyard.db").exists()


def test_tracking_uri_reaches_every_entry_point(
    shared_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reread: Reread
) -> None:
    from sklearn.linear_model import LogisticRegression

    import shipyard.sklearn

    reread(MLFLOW_TRACKING_URI=shared_server.url)
    assert shipyard.get_tracking_uri() == shared_server.url
    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    name = f"env-uri-{tmp_path.name}"
    with shipyard.start_run() as run:
        shipyard.log_param("source", "MLFLOW_TRACKING_URI")
        info = shipyard.sklearn.log_model(model, name="model")
    version = shipyard.register_model(info.model_uri, name)
    remote = requests.get(
        server_url := shared_server.url + API + "/runs/get", params={"run_id": run.run_id}, timeout=10
    )
    assert remote.status_code == 200, server_url
    assert {"key": "source", "value": "MLFLOW_TRACKING_URI"} in remote.json()["run"]["data"]["params"]
    assert shipyard.Client().get_model_version(name, version.version).run_id == run.run_id
    loaded = shipyard.pyfunc.load_model(f"models:/{name}/{version.version}")
    assert list(loaded.predict([[0.0], [3.0]])) == [0, 1]
    assert not (tmp_path / "shipyard.db").exists()


def test_registry_uri_sends_the_registry_to_the_server(
    shared_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reread: Reread
) -> None:
    local = f"sqlite:///{tmp_path / 'runs.db'}"
    reread(MLFLOW_TRACKING_URI=local, MLFLOW_REGISTRY_URI=shared_server.url)
    client = shipyard.Client()
    assert (client.tracking_uri, client.registry_uri) == (local, shared_server.url)
    name = f"env-registry-{tmp_path.name}"
    client.create_registered_model(name)
    remote = requests.get(shared_server.url + API + "/registered-models/get", params={"name": name}, timeout=10)
    assert remote.json()["registered_model"]["name"] == name
    other = f"sqlite:///{tmp_path / 'registry.db'}"
    shipyard.set_registry_uri(other)  # the call wins over the variables
    assert (shipyard.get_registry_uri(), shipyard.Client().registry_uri) == (other, other)
    monkeypatch.setenv("SHIPYARD_REGISTRY_URI", "sqlite:///ignored.db")
    shipyard.set_registry_uri(None)
    fluent.set_tracking_uri(None)
    assert shipyard.get_registry_uri() == "sqlite:///ignored.db"  # SHIPYARD_ wins over MLFLOW_


# --- the fluent API's experiment, run and logging mode ----------------------------------------


def test_experiment_name_and_id_choose_the_fluent_experiment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reread: Reread
) -> None:
    reread(MLFLOW_EXPERIMENT_NAME="from-pipeline")
    with shipyard.start_run() as run:
        pass
    named = shipyard.get_experiment_by_name("from-pipeline")
    assert named is not None and run.info.experiment_id == named.experiment_id
    assert [r.info.run_id for r in shipyard.search_runs(output_format="list")] == [run.run_id]
    other = shipyard.create_experiment("by-id")
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME")
    reread(MLFLOW_EXPERIMENT_ID=other)
    with shipyard.start_run() as run:
        pass
    assert run.info.experiment_id == other
    reread(MLFLOW_EXPERIMENT_NAME="from-pipeline")
    with pytest.raises(InvalidInput, match=f"experiment_id '{other}'.*does not match experiment 'from-pipeline'"):
        shipyard.start_run()
    shipyard.set_experiment("chosen-in-code")  # set_experiment wins over both
    with shipyard.start_run() as run:
        pass
    assert shipyard.get_experiment(run.info.experiment_id).name == "chosen-in-code"


def test_run_id_is_resumed_by_the_first_start_run(monkeypatch: pytest.MonkeyPatch, reread: Reread) -> None:
    launched = shipyard.Client().create_run("0", run_name="launched")
    shipyard.Client().set_terminated(launched.info.run_id)
    reread(MLFLOW_RUN_ID=launched.info.run_id)
    with shipyard.start_run() as run:
        assert run.run_id == launched.info.run_id
        assert shipyard.Client().get_run(run.run_id).info.status == "RUNNING"
        shipyard.log_metric("loss", 0.5)
    assert shipyard.Client().get_run(launched.info.run_id).data.metrics == {"loss": 0.5}
    with shipyard.start_run() as second:  # as in MLflow, only the first start_run resumes it
        pass
    assert second.run_id != launched.info.run_id
    reread()  # a new process: the launcher's run again, but code chose another experiment
    shipyard.set_experiment("chosen-in-code")
    with pytest.raises(InvalidState, match="is in experiment 0, but set_experiment chose experiment"):
        shipyard.start_run()


def test_async_logging_off_writes_before_the_call_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reread: Reread
) -> None:
    reread(MLFLOW_ENABLE_ASYNC_LOGGING="false")
    with shipyard.start_run():
        shipyard.log_metric("written", 1.0)
        shipyard.log_param("p", "v")
        with sqlite3.connect(tmp_path / "shipyard.db") as other_connection:
            metrics = other_connection.execute("select key, value from metrics").fetchall()
            params = other_connection.execute("select key, value from params").fetchall()
    assert (metrics, params) == ([("written", 1.0)], [("p", "v")])


# --- mlflow server's variables ----------------------------------------------------------------


def test_server_variables_configure_shipyard_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`shipyard server` started with mlflow server's variables only, no flags."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "MLFLOW_BACKEND_STORE_URI": f"sqlite:///{tmp_path / 'mlflow-style.db'}",
        "MLFLOW_ARTIFACTS_DESTINATION": str(tmp_path / "destination"),
        "MLFLOW_DEFAULT_ARTIFACT_ROOT": "mlflow-artifacts:/",  # what clients are told; the destination wins
        "MLFLOW_HOST": "127.0.0.1",
        "MLFLOW_PORT": str(port),
        "MLFLOW_WORKERS": "1",
    }
    with open(tmp_path / "server.log", "wb") as log:
        process = subprocess.Popen([SHIPYARD, "server"], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()
            try:
                if requests.get(url + "/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        shipyard.set_tracking_uri(url)
        with shipyard.start_run():
            shipyard.log_text("kept", "proof.txt")
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert (tmp_path / "mlflow-style.db").is_file()
    assert [p.read_text() for p in (tmp_path / "destination").rglob("proof.txt")] == ["kept"]
    monkeypatch.setenv("MLFLOW_WORKERS", "3")
    assert ServerSettings(base=Settings()).workers == 3


# --- mlflow models serve's variables ----------------------------------------------------------


def test_model_serving_variables_configure_shipyard_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    """What `shipyard serve` builds at its edge (settings_from_flags): MLflow's scoring-server
    variables set workers and the request timeout; SHIPYARD_* and then a flag win; a bad value is
    a usage error naming the field and both variables."""
    monkeypatch.setenv("MLFLOW_MODELS_WORKERS", "3")
    monkeypatch.setenv("MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT", "7.5")
    monkeypatch.setenv("MLFLOW_HOST", "0.0.0.0")
    monkeypatch.setenv("MLFLOW_PORT", "5123")
    served = settings_from_flags(ServeSettings, {"workers": None, "timeout": None})
    assert (served.workers, served.timeout, served.host, served.port) == (3, 7.5, "0.0.0.0", 5123)
    monkeypatch.setenv("SHIPYARD_WORKERS", "2")
    monkeypatch.setenv("SHIPYARD_TIMEOUT", "4")
    served = settings_from_flags(ServeSettings, {"workers": None, "timeout": None})
    assert (served.workers, served.timeout) == (2, 4.0)
    assert settings_from_flags(ServeSettings, {"workers": 1, "timeout": 9.0}).workers == 1
    monkeypatch.delenv("SHIPYARD_TIMEOUT")
    monkeypatch.setenv("MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT", "soon")
    with pytest.raises(click.UsageError) as info:
        settings_from_flags(ServeSettings, {})
    assert "timeout" in info.value.message and "MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT" in info.value.message
