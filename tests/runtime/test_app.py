"""`runtime/app.py` in-process: the real app over a real ONNX model, driven through
`httpx.ASGITransport`, with its lifespan run as uvicorn runs it (so the model loads and shuts
down as in a server).

NOTE: not Starlette's TestClient: Starlette 1.10 deprecates it over httpx (it wants httpx2), and
warnings are errors here.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from starlette.types import ASGIApp, Message

from shipyard.runtime import hotpath, v2
from shipyard.runtime.app import build_app
from shipyard.runtime.model import ModelIdentity
from shipyard.runtime.routes import ROUTES
from shipyard.runtime.settings import ServeSettings
from shipyard.runtime.state import ServeState
from shipyard.runtime.workers import OFFLOAD_BYTES
from shipyard.settings import Settings

MLP_INPUT = np.random.default_rng(5).standard_normal((4, 8)).astype(np.float32)
LIMIT = 2 * OFFLOAD_BYTES
JSON_ACCEPT = {"Accept": "application/json"}
"""The body limit of the app under test: room for a body large enough to be parsed off the loop."""

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the runtime is asyncio code (run_in_executor, call_later)


@contextlib.asynccontextmanager
async def lifespan(app: ASGIApp) -> AsyncIterator[None]:
    """The ASGI lifespan as uvicorn drives it: startup before the first request, shutdown after."""
    to_app: asyncio.Queue[Message] = asyncio.Queue()
    from_app: asyncio.Queue[Message] = asyncio.Queue()

    async def send(message: Message) -> None:
        await from_app.put(message)

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.create_task(app(scope, to_app.get, send))
    await to_app.put({"type": "lifespan.startup"})
    assert (await from_app.get())["type"] == "lifespan.startup.complete"
    try:
        yield
    finally:
        await to_app.put({"type": "lifespan.shutdown"})
        assert (await from_app.get())["type"] == "lifespan.shutdown.complete"
        await task


@dataclass
class Serving:
    """The app under test, its state, its access-log stream and every request sent to it."""

    client: httpx.AsyncClient
    state: ServeState
    log: io.StringIO
    sent: list[httpx.Response] = field(default_factory=list)

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.client.request(method, path, **kwargs)
        self.sent.append(response)
        return response

    async def infer(self, inputs: np.ndarray, path: str = "/v2/models/mlp/infer", **extra: Any) -> httpx.Response:
        tensor = {"name": "x", "datatype": "FP32", "shape": list(inputs.shape), "data": inputs.reshape(-1).tolist()}
        return await self.request("POST", path, json={"inputs": [tensor], **extra})

    async def wait_until_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while (await self.request("GET", "/health")).status_code != 200:
            assert time.monotonic() < deadline, f"not ready within {timeout} s: {self.state.served.reason}"
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def serve_in_process(onnx_dir: Path, **settings: Any) -> AsyncIterator[Serving]:
    """The app of `create_app`, built from its parts so the test holds the state and the log."""
    serve_settings = ServeSettings(base=Settings(), name="mlp", **settings)
    state = ServeState.build(serve_settings, ModelIdentity("mlp", str(onnx_dir), str(onnx_dir)))
    log = io.StringIO()
    app = build_app(state, log_stream=log)
    transport = httpx.ASGITransport(app=app)
    async with lifespan(app), httpx.AsyncClient(transport=transport, base_url="http://serve.test") as client:
        serving = Serving(client, state, log)
        await serving.wait_until_ready()
        yield serving


@pytest.fixture
async def serving(onnx_dir: Path, restore_gc: None) -> AsyncIterator[Serving]:
    async with serve_in_process(onnx_dir, max_body_bytes=LIMIT, threads=2) as serving:
        yield serving


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_health_and_identity_once_ready(serving: Serving) -> None:
    for path in ("/ping", "/health", "/v2/health/live", "/v2/health/ready", "/v2/models/mlp/ready"):
        assert (await serving.request("GET", path)).status_code == 200, path
    version = (await serving.request("GET", "/version", headers=JSON_ACCEPT)).json()
    assert version["state"] == "ready" and version["model"]["name"] == "mlp"
    plain = await serving.request("GET", "/version")  # MLflow's clients read the body as the version
    assert plain.status_code == 200 and plain.text == version["shipyard_version"]
    assert plain.headers["content-type"].startswith("text/plain")


async def test_invocations_and_v2_infer_give_the_same_predictions(serving: Serving) -> None:
    scored = await serving.request("POST", "/invocations", json={"inputs": MLP_INPUT.tolist()})
    assert scored.status_code == 200, scored.text
    expected = np.asarray(scored.json()["predictions"]["y"], dtype=np.float32)  # the graph's one named output
    assert expected.shape == (4, 3)
    for path in ("/v2/models/mlp/infer", "/v2/models/mlp/versions/1/infer"):
        answer = await serving.infer(MLP_INPUT, path, id="req-7")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["model_name"] == "mlp" and body["id"] == "req-7"
        (output,) = body["outputs"]
        assert output["name"] == "y" and output["datatype"] == "FP32" and output["shape"] == [4, 3]
        np.testing.assert_allclose(np.asarray(output["data"]).reshape(4, 3), expected, rtol=1e-6)


async def test_an_oversized_v2_body_is_413_json_and_the_server_keeps_serving(serving: Serving) -> None:
    too_big = np.zeros((LIMIT // 8, 8), dtype=np.float32)  # a few bytes of JSON per value: over LIMIT
    declared = await serving.infer(too_big)
    streamed = await serving.request(
        "POST", "/v2/models/mlp/infer", content=chunks(b'{"inputs": [', b" " * LIMIT, b"]}")
    )  # no Content-Length: the limit holds while the body streams in
    for answer in (declared, streamed):
        assert answer.status_code == 413, answer.text
        assert answer.headers["content-type"] == "application/json"
        body = answer.json()
        assert body["error_code"] == "REQUEST_TOO_LARGE" and str(LIMIT) in body["message"]
    assert (await serving.infer(MLP_INPUT)).status_code == 200


async def test_large_bodies_are_parsed_off_the_event_loop_on_both_protocols(
    serving: Serving, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One rule for `/invocations` and V2 infer: a small body parses on the loop, one past
    OFFLOAD_BYTES in a predict thread (recorded by wrapping the real parse functions)."""
    threads: list[str] = []

    def recording(parse: Any) -> Any:
        def wrapper(*args: Any) -> Any:
            threads.append(threading.current_thread().name)
            return parse(*args)

        return wrapper

    monkeypatch.setattr(hotpath, "parse_and_prepare", recording(hotpath.parse_and_prepare))
    monkeypatch.setattr(v2, "parse_infer", recording(v2.parse_infer))
    large = np.random.default_rng(1).standard_normal((2000, 8)).astype(np.float32)
    assert OFFLOAD_BYTES < len(json.dumps(large.tolist())) < LIMIT - 1024
    for inputs in (MLP_INPUT, large):
        scored = await serving.request("POST", "/invocations", json={"inputs": inputs.tolist()})
        assert scored.status_code == 200, scored.text
        assert (await serving.infer(inputs)).status_code == 200
    small_threads, large_threads = threads[:2], threads[2:]
    assert not any(name.startswith("shipyard-predict") for name in small_threads), threads
    assert all(name.startswith("shipyard-predict") for name in large_threads), threads


async def test_openapi_lists_exactly_the_route_table(serving: Serving) -> None:
    spec = (await serving.request("GET", "/openapi.json")).json()
    documented = {(path, method.upper()) for path, operations in spec["paths"].items() for method in operations}
    assert documented == {(route.path, route.method) for route in ROUTES}
    scoring = spec["paths"]["/invocations"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert scoring["x-model-signature-inputs"][0]["type"] == "tensor"


async def test_unknown_paths_and_wrong_methods_answer_json(serving: Serving) -> None:
    missing = await serving.request("GET", "/nope")
    assert missing.status_code == 404 and missing.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    wrong_method = await serving.request("GET", "/invocations")  # a direct route: Starlette answers the 405
    assert wrong_method.status_code == 405 and wrong_method.json()["error_code"] == "BAD_REQUEST"
    other_model = await serving.infer(MLP_INPUT, "/v2/models/other/infer")
    assert other_model.status_code == 404 and other_model.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


async def test_one_access_log_line_per_request_labelled_by_the_route_table(onnx_dir: Path, restore_gc: None) -> None:
    async with serve_in_process(onnx_dir, threads=1) as serving:
        await serving.request(
            "POST", "/invocations", json={"inputs": MLP_INPUT.tolist()}, headers={"x-request-id": "rid-1"}
        )
        await serving.infer(MLP_INPUT)
        await serving.request("GET", "/nope")
        metrics = (await serving.request("GET", "/metrics")).text
    # the lifespan has ended: every pending line is written
    records = [json.loads(line) for line in serving.log.getvalue().splitlines()]
    assert [(r["method"], r["path"], r["status"]) for r in records] == [
        (a.request.method, a.request.url.path, a.status_code) for a in serving.sent
    ]
    assert [r["request_id"] for r in records] == [a.headers["x-request-id"] for a in serving.sent]
    assert records[-4]["request_id"] == "rid-1"
    assert all(isinstance(r["duration_ms"], float) for r in records)
    for route in ("/invocations", "/v2/models/{name}/infer", "other", "/health"):
        assert f'route="{route}"' in metrics, route
