"""The real `mlflow` client runs a training script against `shipyard server`; everything it logged
and registered is then visible through Shipyard's own client (over REST and on the database)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import shipyard
from shipyard.server.context import INTERNAL_DIR


def test_mlflow_client_trains_logs_registers_and_loads(mlflow_run: dict[str, Any]) -> None:
    assert mlflow_run["artifact_uri"].startswith("mlflow-artifacts:/"), "clients must never see a server path"
    assert len(mlflow_run["predictions"]) == 5 and set(mlflow_run["predictions"]) <= {0, 1, 2}
    assert mlflow_run["alias_version"] == "1"
    assert mlflow_run["history_steps"] == [0, 1, 2, 3, 4]
    assert mlflow_run["listed"] == ["image.png", "reports", "summary.txt"]


def test_everything_is_visible_through_shipyards_client(mlflow_run: dict[str, Any], shared_server: Any) -> None:
    for uri in (shared_server.url, shared_server.db_uri):
        client = shipyard.Client(uri)
        run = client.get_run(mlflow_run["run_id"])
        assert run.info.status == "FINISHED" and run.info.run_name == "mlflow-client"
        assert run.data.params == {"alpha": "0.001", "epochs": "5", "random_state": "7"}
        assert set(run.data.metrics) == {"train_loss", "accuracy"} and run.data.tags["team"] == "shipyard"
        assert [m.step for m in client.get_metric_history(run.info.run_id, "train_loss")] == [0, 1, 2, 3, 4]
        mv = client.get_model_version("iris-remote", 1)
        assert mv.status == "READY" and mv.digest and mv.digest.startswith("sha256:")
        assert mv.current_stage == "Staging" and mv.aliases == ["champion"]
        assert [e.to_value for e in client.get_model_history("iris-remote")] == ["Staging", "1"]
    remote = shipyard.Client(shared_server.url)
    assert remote.get_run(mlflow_run["run_id"]).info.artifact_uri.startswith(
        shared_server.url + "/api/2.0/mlflow-artifacts/"
    )
    assert sorted(f.path for f in remote.list_artifacts(mlflow_run["run_id"], "reports")) == ["reports/report.html"]


def test_artifacts_and_models_download_through_the_proxy(
    mlflow_run: dict[str, Any], shared_server: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("SHIPYARD_CACHE_DIR", str(tmp_path / "cache"))
    client = shipyard.Client(shared_server.url)
    local = Path(client.download_artifacts(mlflow_run["run_id"], "", tmp_path / "all"))
    assert (local / "summary.txt").read_text() == "accuracy report\n"
    assert (local / "reports" / "report.html").read_text().startswith("<html>")
    assert (local / "image.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    shipyard.set_tracking_uri(shared_server.url)
    try:
        model = shipyard.pyfunc.load_model("models:/iris-remote@champion")
        features = pd.DataFrame(
            np.array([[5.1, 3.5, 1.4, 0.2]]),
            columns=["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"],
        )
        assert len(model.predict(features)) == 1
    finally:
        shipyard.set_tracking_uri(None)
    assert not any(p.name == INTERNAL_DIR for p in local.iterdir())
