"""`shipyard serve` as a black box: errors, health, identity, metrics, KServe V2, OpenAPI."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

MLP_INPUT = np.random.default_rng(3).standard_normal((4, 8)).astype(np.float32)


@pytest.fixture(scope="module")
def mlp(onnx_dir: Path, tmp_path_factory: pytest.TempPathFactory, start_shipyard: Any) -> Iterator[Any]:
    tmp = tmp_path_factory.mktemp("server")
    with start_shipyard(onnx_dir, tmp, "--name", "mlp", "--max-body-bytes", "4096") as server:
        yield server


@pytest.fixture(scope="module")
def scripted(tmp_path_factory: pytest.TempPathFactory, start_shipyard: Any, python_model_factory: Any) -> Iterator[Any]:
    tmp = tmp_path_factory.mktemp("scripted")
    model = python_model_factory(tmp / "scripted", tmp / "code")
    with start_shipyard(model, tmp) as server:
        yield server


def post(
    server: Any, body: Any = None, *, content: bytes | None = None, content_type: str = "application/json"
) -> httpx.Response:
    if content is None:
        import orjson

        content = orjson.dumps(body)
    return httpx.post(server.url + "/invocations", content=content, headers={"content-type": content_type}, timeout=30)


@pytest.mark.parametrize(
    ("content", "content_type", "status", "mentions"),
    [
        (b'{"inputs": [[1, 2', "application/json", 400, "not valid JSON"),
        (b'{"inputz": [[1.0]]}', "application/json", 400, "inputz"),
        (b'{"inputs": [[1.0]], "instances": [[1.0]]}', "application/json", 400, "exactly one"),
        (b"[1, 2]", "application/json", 400, "JSON object"),
        (b'{"dataframe_split": {"data": [[1]], "cols": []}}', "application/json", 400, "dataframe_split"),
        (b'{"inputs": [["a", "b", "c", "d", "e", "f", "g", "h"]]}', "application/json", 400, "expected float32"),
        (b'{"inputs": [[1.0]], "params": [1]}', "application/json", 400, "params"),
        (b"x" * 5000, "application/json", 413, "limit"),
        (b"a,b\n1,2\n", "text/plain", 415, "text/plain"),
        (b"{}", "application/json; charset=latin-1", 415, "charset"),
    ],
    ids=[
        "malformed",
        "unknown-key",
        "two-formats",
        "not-object",
        "split-extra-key",
        "bad-type",
        "params-not-object",
        "too-large",
        "unsupported-type",
        "bad-charset",
    ],
)
def test_caller_mistakes_are_4xx_json_naming_the_problem(
    mlp: Any, content: bytes, content_type: str, status: int, mentions: str
) -> None:
    response = post(mlp, content=content, content_type=content_type)
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error_code", "message"}
    assert mentions in body["message"]
    assert "Traceback" not in response.text
    assert post(mlp, {"inputs": MLP_INPUT.tolist()}).status_code == 200  # still alive


def test_model_exception_is_500_with_error_id_logged_with_traceback(scripted: Any) -> None:
    response = post(scripted, {"dataframe_records": [{"x": 1.0}, {"x": -999.0}]})
    assert response.status_code == 500
    body = response.json()
    assert body["error_code"] == "INTERNAL_ERROR"
    assert "Traceback" not in response.text and "scripted failure" not in response.text
    error_id = body["error_id"]
    log = scripted.wait_for_log(error_id)
    after = log[log.index(error_id) :]
    assert "Traceback" in after and "scripted failure" in after
    ok = post(scripted, {"dataframe_records": [{"x": 1.5}]})
    assert ok.status_code == 200 and ok.json() == {"predictions": [3.0]}


def test_health_identity_metrics_openapi(mlp: Any) -> None:
    for path in ("/ping", "/health", "/v2/health/ready", "/v2/health/live", "/v2/models/mlp/ready"):
        assert httpx.get(mlp.url + path).status_code == 200, path
    version = httpx.get(mlp.url + "/version", headers={"Accept": "application/json"}).json()
    assert version["shipyard_version"]
    assert version["model"]["name"] == "mlp"
    assert version["state"] == "ready"
    post(mlp, {"inputs": MLP_INPUT.tolist()})
    metrics = httpx.get(mlp.url + "/metrics").text
    assert re.search(
        r'shipyard_requests_total\{[^}]*model_name="mlp"[^}]*route="/invocations",status="200"\} [1-9]', metrics
    )
    assert "shipyard_request_duration_seconds_bucket" in metrics
    assert re.search(r"shipyard_batch_rows_count\{[^}]*\} [1-9]", metrics)
    assert "shipyard_queue_depth{" in metrics
    spec = httpx.get(mlp.url + "/openapi.json").json()
    assert spec["openapi"].startswith("3.") and "/invocations" in spec["paths"]
    missing = httpx.get(mlp.url + "/nope")
    assert missing.status_code == 404 and missing.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    response = post(mlp, {"inputs": MLP_INPUT.tolist()})
    assert response.headers["x-request-id"]
    mlp.wait_for_log(response.headers["x-request-id"])


def test_access_log_lines_are_structured(mlp: Any) -> None:
    rid = "test-request-id-123"
    httpx.post(mlp.url + "/invocations", json={"inputs": MLP_INPUT.tolist()}, headers={"x-request-id": rid})
    import json

    line = next(line for line in mlp.wait_for_log(rid).splitlines() if rid in line)
    record = json.loads(line)
    assert record["method"] == "POST" and record["path"] == "/invocations" and record["status"] == 200
    assert isinstance(record["duration_ms"], float) and record["request_id"] == rid


def test_tritonclient_infers_against_v2(mlp: Any) -> None:
    import tritonclient.http as triton

    client = triton.InferenceServerClient(mlp.url.removeprefix("http://"))
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready("mlp")
    meta = client.get_model_metadata("mlp")
    assert meta["name"] == "mlp" and meta["inputs"][0]["datatype"] == "FP32"
    direct = httpx.post(mlp.url + "/invocations", json={"inputs": MLP_INPUT.tolist()}).json()["predictions"]
    expected = np.asarray(direct["y"] if isinstance(direct, dict) else direct, dtype=np.float32)
    for binary in (False, True):
        tensor = triton.InferInput("x", list(MLP_INPUT.shape), "FP32")
        tensor.set_data_from_numpy(MLP_INPUT, binary_data=binary)
        result = client.infer("mlp", [tensor], request_id="req-1")
        out = result.get_output(result.get_response()["outputs"][0]["name"])
        assert out is not None
        np.testing.assert_allclose(result.as_numpy(out["name"]), expected, rtol=1e-6)
        assert result.get_response()["id"] == "req-1"
    with pytest.raises(triton.InferenceServerException):
        client.infer("other-model", [tensor])
    bad = triton.InferInput("x", [2, 3], "FP32")
    bad.set_data_from_numpy(np.zeros((2, 3), dtype=np.float32), binary_data=False)
    with pytest.raises(triton.InferenceServerException, match="x"):
        client.infer("mlp", [bad])
    client.close()


def test_readiness_waits_for_load_and_bad_model_fails_cleanly(
    tmp_path: Path, start_shipyard: Any, python_model_factory: Any
) -> None:
    gate = tmp_path / "load-may-finish"
    model = python_model_factory(tmp_path / "slow", tmp_path / "code", load_delay=120.0, gate=gate)
    with start_shipyard(model, tmp_path, ready_path="/v2/health/live") as server:
        early = httpx.get(server.url + "/health")
        assert early.status_code == 503  # load_context waits for the gate: still loading, reason given
        assert "loading" in early.json()["message"]
        assert early.headers["retry-after"]
        assert post(server, {"dataframe_records": [{"x": 1.0}]}).status_code == 503
        gate.touch()
        server.wait_for_log("model 'slow' is ready")  # logged once the state is ready
        assert httpx.get(server.url + "/health").status_code == 200
        assert httpx.get(server.url + "/v2/health/ready").status_code == 200
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "MLmodel").write_text("flavors: {}\n")
    with start_shipyard(broken, tmp_path, ready_path="/v2/health/live") as server:
        deadline = time.monotonic() + 20
        while "failed" not in httpx.get(server.url + "/health").text and time.monotonic() < deadline:
            time.sleep(0.1)
        answer = httpx.get(server.url + "/health")
        assert answer.status_code == 503 and "python_function" in answer.json()["message"]


def test_a_worker_still_loading_takes_no_requests(
    tmp_path: Path, start_shipyard: Any, python_model_factory: Any
) -> None:
    """With --workers 2 and one worker loading slowly, /health 200 from the fast one means every
    request is served: the slow worker stays off the shared socket until it is ready.

    The slow worker loads until the test opens a gate, so it is still loading during the requests
    however long the fast one took to start; afterwards both report ready."""
    gate = tmp_path / "slow-worker-may-finish"
    model = python_model_factory(
        tmp_path / "one-slow", tmp_path / "code", load_delay=120.0, slow_marker=tmp_path / "slow-worker", gate=gate
    )
    with start_shipyard(model, tmp_path, "--workers", "2") as server:
        try:
            # the fast worker, ready, found the marker taken: the other one is held at the gate
            assert (tmp_path / "slow-worker").exists()
            assert server.log_text().count("model 'one-slow' is ready") == 1
            codes = [post(server, {"dataframe_records": [{"x": 1.0}]}).status_code for _ in range(12)]
            assert codes == [200] * 12
        finally:
            gate.touch()
        server.wait_for_log("model 'one-slow' is ready", count=2)
        codes = [post(server, {"dataframe_records": [{"x": 1.0}]}).status_code for _ in range(12)]
        assert codes == [200] * 12


def test_cli_rejects_bad_settings_without_traceback(tmp_path: Path) -> None:
    shipyard = str(Path(sys.executable).parent / "shipyard")
    bad = subprocess.run(
        [shipyard, "serve", "-m", str(tmp_path), "--max-batch-size", "0"], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode != 0 and "max_batch_size" in bad.stderr and "Traceback" not in bad.stderr
    missing = subprocess.run(
        [shipyard, "serve", "-m", str(tmp_path / "nope")], capture_output=True, text=True, timeout=60
    )
    assert missing.returncode != 0 and "nope" in missing.stderr and "Traceback" not in missing.stderr


def test_serving_a_registered_version_reports_its_identity(iris_dir: Path, tmp_path: Path, start_shipyard: Any) -> None:
    """models:/name/Production: /version and the metrics carry name, version, stage and digest."""
    shipyard = str(Path(sys.executable).parent / "shipyard")
    env = {
        "SHIPYARD_TRACKING_URI": f"sqlite:///{tmp_path / 'registry.db'}",
        "SHIPYARD_CACHE_DIR": str(tmp_path / "cache"),
    }
    import os

    run_env = {**os.environ, **env}
    for command in (["register", str(iris_dir), "flowers"], ["transition", "flowers", "1", "Production"]):
        done = subprocess.run(
            [shipyard, "models", *command], capture_output=True, text=True, timeout=120, cwd=tmp_path, env=run_env
        )
        assert done.returncode == 0, done.stderr
    with start_shipyard("models:/flowers/Production", tmp_path, env=env) as server:
        model = httpx.get(server.url + "/version", headers={"Accept": "application/json"}).json()["model"]
        assert model["name"] == "flowers" and model["version"] == "1"
        assert model["stage"] == "Production" and model["digest"]
        assert model["source_uri"]
        answer = httpx.post(
            server.url + "/invocations",
            json={
                "inputs": {
                    "sepal length (cm)": [5.1],
                    "sepal width (cm)": [3.5],
                    "petal length (cm)": [1.4],
                    "petal width (cm)": [0.2],
                }
            },
        )
        assert answer.status_code == 200 and answer.json() == {"predictions": [0]}, answer.text
        metrics = httpx.get(server.url + "/metrics").text
        assert 'model_name="flowers"' in metrics and 'model_version="1"' in metrics
        assert 'model_stage="Production"' in metrics
        assert httpx.get(server.url + "/v2/models/flowers/ready").status_code == 200


def test_workers_processes_each_serve_and_drain_on_sigterm(onnx_dir: Path, tmp_path: Path, start_shipyard: Any) -> None:
    with start_shipyard(onnx_dir, tmp_path, "--workers", "2", "--name", "mlp") as server:
        for _ in range(4):
            answer = post(server, {"inputs": MLP_INPUT.tolist()})
            assert answer.status_code == 200
        assert server.stop() == 0
        log = server.log_text()
        assert log.count("model 'mlp' is ready") == 2  # one model copy per worker process
