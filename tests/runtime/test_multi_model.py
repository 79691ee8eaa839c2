"""Several models in one `shipyard serve`: routing by name, readiness and metrics per model, the
KServe V2 repository extension through Triton's own client (`tritonclient[http]`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

BIN = Path(sys.executable).parent
IRIS_ROW = {
    "sepal length (cm)": [5.1],
    "sepal width (cm)": [3.5],
    "petal length (cm)": [1.4],
    "petal width (cm)": [0.2],
}


def test_two_models_answer_by_name_each_with_its_readiness_and_metrics(
    tmp_path: Path, iris_dir: Path, onnx_dir: Path, start_shipyard: Any
) -> None:
    models = tmp_path / "models.yaml"
    models.write_text(f"models:\n  - name: mlp\n    uri: {onnx_dir}\n    max_batch_size: 8\n", encoding="utf-8")
    with start_shipyard(f"flowers={iris_dir}", tmp_path, "--models", str(models)) as server:
        url = server.url
        flowers = httpx.post(url + "/models/flowers/invocations", json={"inputs": IRIS_ROW})
        assert flowers.status_code == 200 and flowers.json() == {"predictions": [0]}, flowers.text
        row = np.linspace(-1, 1, 8, dtype=np.float32).reshape(1, 8)
        mlp = httpx.post(url + "/models/mlp/invocations", json={"inputs": row.tolist()})
        assert mlp.status_code == 200 and np.asarray(mlp.json()["predictions"]["y"]).shape == (1, 3), mlp.text
        # /invocations is the first model's, as with one model
        assert httpx.post(url + "/invocations", json={"inputs": IRIS_ROW}).json() == {"predictions": [0]}

        unknown = httpx.post(url + "/models/nope/invocations", json={"inputs": IRIS_ROW})
        assert unknown.status_code == 404 and "'flowers', 'mlp'" in unknown.json()["message"]

        v2 = httpx.post(
            url + "/v2/models/mlp/infer",
            json={"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 8], "data": row.reshape(-1).tolist()}]},
        )
        assert v2.status_code == 200 and v2.json()["model_name"] == "mlp", v2.text
        for name in ("flowers", "mlp"):
            assert httpx.get(f"{url}/v2/models/{name}/ready").status_code == 200
        metrics = httpx.get(url + "/metrics").text
        assert 'shipyard_batch_rows_count{model_digest="",model_name="mlp"' in metrics
        assert 'shipyard_batch_rows_count{model_digest="",model_name="flowers"' in metrics
        assert 'route="/models/mlp/invocations"' in metrics
        document = httpx.get(url + "/version", headers={"Accept": "application/json"}).json()
        assert set(document["models"]) == {"flowers", "mlp"}

        # the V2 repository extension, through Triton's client
        client = triton.InferenceServerClient(url.removeprefix("http://"))
        index = {m["name"]: m["state"] for m in client.get_model_repository_index()}
        assert index == {"flowers": "READY", "mlp": "READY"}
        client.unload_model("mlp")
        assert not client.is_model_ready("mlp") and client.is_model_ready("flowers")
        assert not client.is_server_ready()  # /health is ready only when every model is
        assert httpx.get(url + "/health").status_code == 503
        refused = httpx.post(url + "/models/mlp/invocations", json={"inputs": row.tolist()})
        assert refused.status_code == 503 and "unloaded" in refused.json()["message"]
        assert httpx.post(url + "/models/flowers/invocations", json={"inputs": IRIS_ROW}).status_code == 200
        assert {m["name"]: m["state"] for m in client.get_model_repository_index()}["mlp"] == "UNAVAILABLE"

        client.load_model("mlp")
        assert client.is_model_ready("mlp") and client.is_server_ready()
        tensor = triton.InferInput("x", [1, 8], "FP32")
        tensor.set_data_from_numpy(row)
        answer = client.infer("mlp", [tensor])
        assert answer.as_numpy(answer.get_response()["outputs"][0]["name"]).shape == (1, 3)
        with pytest.raises(InferenceServerException, match="not served here"):
            client.load_model("nope")


def test_model_lists_that_cannot_work_are_refused(tmp_path: Path, iris_dir: Path) -> None:
    shipyard = str(BIN / "shipyard")

    def refused(*args: str) -> str:
        done = subprocess.run([shipyard, "serve", *args], capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
        return done.stderr

    assert "given twice" in refused("-m", f"a={iris_dir}", "-m", f"a={iris_dir}")
    bad = tmp_path / "bad.yaml"
    bad.write_text("models:\n  - name: a\n    uri: x\n    max_queue: 0\n", encoding="utf-8")
    assert "models[0]: max_queue" in refused("--models", str(bad))
    bad.write_text("models: []\n", encoding="utf-8")
    assert "non-empty list under the key 'models'" in refused("--models", str(bad))
    bad.write_text("models:\n  - name: a\n    uri: x\n    colour: red\n", encoding="utf-8")
    assert "colour" in refused("--models", str(bad))
