"""Shipyard's own fluent API and Client pointed at `shipyard server` (the REST stores): runs,
background metric batches, artifacts through the proxy, log_model + register, models:/ loads."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import shipyard
from shipyard.exceptions import AlreadyExists, InvalidInput, ResourceNotFound, TemporarilyUnavailable
from shipyard.registry.rest_store import RestRegistryStore
from shipyard.tracking import fluent_state
from shipyard.tracking.http_settings import RestClientSettings
from shipyard.tracking.rest_client import RestClient
from shipyard.tracking.rest_store import RestTrackingStore
from shipyard.tracking.store import get_tracking_store


@pytest.fixture()
def remote(server_factory: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    server = server_factory()
    monkeypatch.setenv("SHIPYARD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    shipyard.set_tracking_uri(server.url)
    yield server
    while shipyard.active_run() is not None:
        shipyard.end_run()
    shipyard.set_tracking_uri(None)
    fluent_state.STATE.experiment_id = None  # set_experiment above must not leak into later tests


def test_fluent_api_through_the_server(remote: Any, tmp_path: Path) -> None:
    assert isinstance(get_tracking_store(remote.url), RestTrackingStore)
    shipyard.set_experiment("remote-native")
    x = np.random.default_rng(0).normal(size=(40, 3))
    y = (x[:, 0] > 0).astype(int)
    with shipyard.start_run(run_name="native") as run:
        shipyard.log_params({"C": 0.5, "solver": "lbfgs"})
        for step in range(1500):  # more than one log-batch request of metrics
            shipyard.log_metric("loss", 1.0 / (step + 1), step=step)
        shipyard.log_metric("odd", float("nan"), step=0)
        shipyard.set_tag("stage", "dev")
        shipyard.log_text("hello\n", "notes/hello.txt")
        info = shipyard.sklearn.log_model(LogisticRegression().fit(x, y), "model", registered_model_name="remote-lr")
    assert info.registered_model_version == 1

    client = shipyard.Client(remote.url)
    got = client.get_run(run.info.run_id)
    assert got.info.status == "FINISHED" and got.data.params == {"C": "0.5", "solver": "lbfgs"}
    assert got.data.tags["stage"] == "dev" and np.isnan(got.data.metrics["odd"])
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in history] == list(range(1500))
    assert got.info.artifact_uri.startswith(remote.url + "/api/2.0/mlflow-artifacts/artifacts/")
    assert (remote.root / "artifacts").resolve().as_posix() not in got.info.artifact_uri
    assert [f.path for f in client.list_artifacts(run.info.run_id, "notes")] == ["notes/hello.txt"]

    mv = client.get_model_version("remote-lr", 1)
    assert mv.status == "READY" and mv.source == info.model_uri and mv.run_id == run.info.run_id
    client.transition_model_version_stage("remote-lr", 1, "Production")
    client.set_registered_model_alias("remote-lr", "champion", 1)
    loaded = shipyard.pyfunc.load_model("models:/remote-lr@champion")
    assert list(loaded.predict(x[:4])) == list(LogisticRegression().fit(x, y).predict(x[:4]))
    assert [(e.action, e.to_value) for e in client.get_model_history("remote-lr")] == [
        ("transition", "Production"),
        ("set_alias", "1"),
    ]
    frame = shipyard.search_runs(experiment_names=["remote-native"])
    assert list(frame["run_id"]) == [run.info.run_id]


def test_errors_come_back_as_shipyard_exceptions(remote: Any) -> None:
    client = shipyard.Client(remote.url)
    client.create_experiment("dup")
    with pytest.raises(AlreadyExists):
        client.create_experiment("dup")
    with pytest.raises(ResourceNotFound):
        client.get_run("0123456789abcdef0123456789abcdef")
    assert client.get_experiment_by_name("missing") is None
    with pytest.raises(InvalidInput, match="param"):
        run = client.create_run(client.get_experiment_by_name("dup").experiment_id)  # type: ignore[union-attr]
        client.log_param(run.info.run_id, "a", 1)
        client.log_param(run.info.run_id, "a", 2)
    store = RestRegistryStore.open(remote.url)
    with pytest.raises(ResourceNotFound, match="Registered Model with name=nope not found"):  # MLflow's words
        store.get_registered_model("nope")


def test_unreachable_server_is_retried_then_reported(tmp_path: Path) -> None:
    settings = RestClientSettings(max_retries=2, backoff_s=0.01, timeout=2)
    store = RestTrackingStore("http://127.0.0.1:9", RestClient("http://127.0.0.1:9", settings))
    with pytest.raises(TemporarilyUnavailable, match="cannot reach"):
        store.get_experiment("0")


def test_large_artifacts_stream_through_the_proxy(remote: Any, tmp_path: Path) -> None:
    payload = tmp_path / "weights.bin"
    chunk = bytes(range(256)) * 4096  # 1 MiB
    with open(payload, "wb") as out:
        for index in range(12):
            out.write(chunk[index:] + chunk[:index])
    client = shipyard.Client(remote.url)
    run = client.create_run(client.create_experiment("big-files"))
    client.log_artifact(run.info.run_id, payload, "blobs")
    stored = next((remote.root / "artifacts").rglob("weights.bin"))
    assert stored.read_bytes() == payload.read_bytes()
    assert [(f.path, f.file_size) for f in client.list_artifacts(run.info.run_id, "blobs")] == [
        ("blobs/weights.bin", 12 << 20)
    ]
    back = Path(client.download_artifacts(run.info.run_id, "blobs/weights.bin", tmp_path / "back"))
    assert back.read_bytes() == payload.read_bytes() and not list(back.parent.glob(".*.part"))


def test_logging_survives_a_server_restart(server_factory: Callable[..., Any]) -> None:
    """Connection errors are retried with backoff: a batch sent while the server restarts lands."""
    import threading

    from shipyard.tracking.entities import Metric

    first = server_factory()
    port = int(first.url.rsplit(":", 1)[1])
    settings = RestClientSettings(max_retries=10, backoff_s=0.2, timeout=10)
    store = RestTrackingStore(first.url, RestClient(first.url, settings))
    run = store.create_run("0", "tester", None, [], "restart")
    first.process.terminate()
    first.process.wait(timeout=20)
    restarted: list[Any] = []
    starter = threading.Thread(target=lambda: restarted.append(server_factory(root=first.root, port=port)))
    starter.start()
    store.log_batch(run.info.run_id, [Metric("loss", 0.5, 1, step) for step in range(3)], [], [])
    starter.join()
    assert [m.step for m in store.get_metric_history(run.info.run_id, "loss")] == [0, 1, 2]


def test_postgresql_backend(server_factory: Callable[..., Any], postgres_uri: str) -> None:
    """The same server on PostgreSQL (runs only where SHIPYARD_TEST_POSTGRES_URI is set, as in CI)."""
    from shipyard.tracking.entities import Metric, Param

    server = server_factory(backend=postgres_uri)
    client = shipyard.Client(server.url)
    run = client.create_run(client.create_experiment("on-postgres"), run_name="pg")
    client.log_batch(run.info.run_id, [Metric("m", float(i), 1, i) for i in range(2500)], [Param("p", "1")])
    client.log_text(run.info.run_id, "on postgres", "note.txt")
    client.set_terminated(run.info.run_id)
    got = client.get_run(run.info.run_id)
    assert got.info.status == "FINISHED" and got.data.params == {"p": "1"} and got.data.metrics == {"m": 2499.0}
    assert len(client.get_metric_history(run.info.run_id, "m")) == 2500
    assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["note.txt"]


def test_several_workers_serve_one_database(server_factory: Callable[..., Any]) -> None:
    """`--workers 2`: the parent migrates once, both worker processes serve the same database."""
    server = server_factory("--workers", "2")
    client = shipyard.Client(server.url)
    run = client.create_run(client.create_experiment("workers"))
    for step in range(20):
        client.log_metric(run.info.run_id, "m", float(step), step=step)
    assert [m.step for m in client.get_metric_history(run.info.run_id, "m")] == list(range(20))
