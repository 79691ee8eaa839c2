"""`shipyard.web`, the plumbing both servers share, through a real Starlette app in-process."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import numpy as np
import pytest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shipyard.exceptions import ResourceNotFound, TemporarilyUnavailable
from shipyard.web import dumps, guarded, handed_over, http_error, json_response, read_body

LIMIT = 1000

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def echo_size(request: Request) -> Response:
    return json_response({"size": len(await read_body(request, LIMIT))})


async def missing(request: Request) -> Response:
    raise ResourceNotFound("thing 'x' does not exist")


async def busy(request: Request) -> Response:
    raise TemporarilyUnavailable("the queue is full")


async def broken(request: Request) -> Response:
    raise RuntimeError("a bug with a secret inside")


APP = Starlette(
    routes=[
        Route("/echo", guarded(echo_size), methods=["POST"]),
        Route("/missing", guarded(missing)),
        Route("/busy", guarded(busy)),
        Route("/broken", guarded(broken)),
    ],
    exception_handlers={HTTPException: http_error},
)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=APP), base_url="http://web.test") as client:
        yield client


async def chunks(size: int) -> AsyncIterator[bytes]:
    for _ in range(size // 100):
        yield b"x" * 100


async def test_bodies_are_read_up_to_the_limit_declared_or_streamed(client: httpx.AsyncClient) -> None:
    assert (await client.post("/echo", content=b"x" * LIMIT)).json() == {"size": LIMIT}
    assert (await client.post("/echo", content=chunks(LIMIT))).json() == {"size": LIMIT}
    declared = await client.post("/echo", content=b"x" * (LIMIT + 1))
    streamed = await client.post("/echo", content=chunks(LIMIT + 100))
    for answer in (declared, streamed):
        assert answer.status_code == 413
        assert answer.json()["error_code"] == "REQUEST_TOO_LARGE" and str(LIMIT) in answer.json()["message"]


async def test_errors_are_json_with_the_mapped_status(client: httpx.AsyncClient) -> None:
    missing = await client.get("/missing")
    assert missing.status_code == 404
    assert missing.json() == {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "thing 'x' does not exist"}
    busy = await client.get("/busy")
    assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
    no_route = await client.get("/nope")
    assert no_route.status_code == 404 and no_route.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    wrong_method = await client.post("/missing")
    assert wrong_method.status_code == 405 and wrong_method.json()["error_code"] == "BAD_REQUEST"
    assert "GET" in wrong_method.headers["allow"]


async def test_an_unexpected_error_is_500_with_an_id_and_the_traceback_logged_under_it(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="shipyard"):
        answer = await client.get("/broken")
    assert answer.status_code == 500
    body = answer.json()
    assert set(body) == {"error_code", "message", "error_id"} and body["error_code"] == "INTERNAL_ERROR"
    assert body["error_id"] in body["message"] and "secret" not in answer.text
    (record,) = [r for r in caplog.records if body["error_id"] in r.getMessage()]
    assert "Traceback" in record.getMessage() and "a bug with a secret inside" in record.getMessage()
    assert "GET /broken" in record.getMessage()


def test_dumps_writes_numpy_values_and_nan_as_null() -> None:
    value = {"a": np.arange(3), "b": np.float32(1.5), "c": float("nan"), 1: np.array([[1.0], [2.0]]).T[0]}
    assert dumps(value) == b'{"a":[0,1,2],"b":1.5,"c":null,"1":[1.0,2.0]}'


def test_handed_over_reads_back_what_the_parent_wrote(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPYARD_TEST_HANDOFF", '{"settings": {"port": 5001}}')
    assert handed_over("SHIPYARD_TEST_HANDOFF") == {"settings": {"port": 5001}}
    monkeypatch.delenv("SHIPYARD_TEST_HANDOFF")
    with pytest.raises(RuntimeError, match="SHIPYARD_TEST_HANDOFF is not set"):
        handed_over("SHIPYARD_TEST_HANDOFF")
