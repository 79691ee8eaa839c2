"""Overload sheds instead of queueing: a request that would wait longer than the queue delay limit
gets 503 + Retry-After at once; a client's own deadline (X-Request-Timeout, grpc-timeout) bounds
its wait."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from shipyard.exceptions import InvalidInput, TemporarilyUnavailable
from shipyard.runtime.batcher import AUTO_QUEUE_DELAY_MIN, Batcher
from shipyard.runtime.deadlines import request_timeout
from shipyard.runtime.workers import Workers

BODY = {"dataframe_records": [{"x": 1.0}]}


def slow_predict(seconds: float) -> Any:
    def predict(data: np.ndarray, params: dict[str, Any] | None) -> np.ndarray:
        time.sleep(seconds)
        return data * 2.0

    return predict


def one_row() -> np.ndarray:
    return np.ones((1, 1))


def test_a_request_that_would_wait_too_long_is_shed_at_once() -> None:
    workers = Workers(2)

    async def scenario() -> None:
        batcher = Batcher(
            slow_predict(0.05), start_work=workers.start, max_batch_size=1, max_queue_delay=0.02, batchable=False
        )
        await batcher.submit(one_row(), 1, timeout=5)  # measures one batch: about 50 ms
        running = asyncio.ensure_future(batcher.submit(one_row(), 1, timeout=5))
        await asyncio.sleep(0)
        queued = asyncio.ensure_future(batcher.submit(one_row(), 1, timeout=5))
        await asyncio.sleep(0)
        started = time.monotonic()
        with pytest.raises(TemporarilyUnavailable, match="more than the 20 ms --max-queue-ms allows"):
            await batcher.submit(one_row(), 1, timeout=5)
        assert time.monotonic() - started < 0.02, "shed without waiting"
        assert (await running).tolist() == [[2.0]] and (await queued).tolist() == [[2.0]]
        await batcher.close()

    try:
        asyncio.run(scenario())
    finally:
        workers.close()


def test_the_automatic_limit_follows_the_measured_batch_time() -> None:
    workers = Workers(1)

    async def scenario() -> None:
        batcher = Batcher(slow_predict(0.2), start_work=workers.start, max_batch_size=8, max_queue_delay="auto")
        assert batcher.queue_delay_limit(timeout=60) == AUTO_QUEUE_DELAY_MIN, "before any batch"
        await batcher.submit(one_row(), 1, timeout=5)
        limit = batcher.queue_delay_limit(timeout=60)
        assert 4 * 0.2 <= limit < 4 * 0.5, "four batches at the measured time"
        assert batcher.queue_delay_limit(timeout=0.3) == pytest.approx(0.15), "never past half the timeout"
        await batcher.close()

    try:
        asyncio.run(scenario())
    finally:
        workers.close()


def test_without_a_limit_the_queue_only_has_its_length_bound() -> None:
    workers = Workers(1)

    async def scenario() -> None:
        batcher = Batcher(slow_predict(0.03), start_work=workers.start, max_batch_size=1, batchable=False)
        answers = await asyncio.gather(*(batcher.submit(one_row(), 1, timeout=5) for _ in range(8)))
        assert len(answers) == 8
        await batcher.close()

    try:
        asyncio.run(scenario())
    finally:
        workers.close()


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, 60.0),
        ({"x-request-timeout": "0.25"}, 0.25),
        ({"x-request-timeout": "600"}, 60.0),
        ({"grpc-timeout": "500m"}, 0.5),
        ({"grpc-timeout": "2S"}, 2.0),
        ({"grpc-timeout": "1M"}, 60.0),
        ({"grpc-timeout": "250000u"}, 0.25),
    ],
)
def test_the_client_deadline_can_only_shorten_the_timeout(headers: dict[str, str], expected: float) -> None:
    assert request_timeout(headers, 60.0) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        ({"x-request-timeout": "soon"}, "X-Request-Timeout"),
        ({"x-request-timeout": "-1"}, "X-Request-Timeout"),
        ({"x-request-timeout": "nan"}, "X-Request-Timeout"),
        ({"x-request-timeout": "0"}, "X-Request-Timeout"),
        ({"grpc-timeout": "5s"}, "grpc-timeout"),
        ({"grpc-timeout": "0S"}, "grpc-timeout"),
        ({"grpc-timeout": "123456789m"}, "grpc-timeout"),
    ],
)
def test_an_unreadable_deadline_names_the_header(headers: dict[str, str], named: str) -> None:
    with pytest.raises(InvalidInput, match=named):
        request_timeout(headers, 60.0)


@pytest.fixture(scope="module")
def slow_model(tmp_path_factory: pytest.TempPathFactory, python_model_factory: Any) -> Path:
    tmp = tmp_path_factory.mktemp("deadline")
    return python_model_factory(tmp / "slow", tmp / "code", delay=0.3)


def test_a_served_request_honours_the_client_deadline(slow_model: Path, tmp_path: Path, start_shipyard: Any) -> None:
    with start_shipyard(slow_model, tmp_path, "--no-warmup", "--max-batch-size", "1") as server:
        url = server.url + "/invocations"
        with httpx.Client(timeout=30) as client:
            assert client.post(url, json=BODY).status_code == 200
            # One request holds the model for 300 ms; the next one's 100 ms deadline passes in the queue.
            with httpx.Client(timeout=30) as other:
                first = asyncio.run(_both(client, other, url))
            assert first[0].status_code == 200
            late = first[1]
            assert late.status_code == 504, late.text
            assert "0.1 s" in late.json()["message"]
            bad = client.post(url, json=BODY, headers={"X-Request-Timeout": "soon"})
            assert bad.status_code == 400 and "X-Request-Timeout" in bad.json()["message"]
            bad = client.post(server.url + "/v2/models/slow/infer", json={"inputs": []}, headers={"grpc-timeout": "5s"})
            assert bad.status_code == 400 and "grpc-timeout" in bad.json()["message"]
            assert client.post(url, json=BODY, headers={"grpc-timeout": "5S"}).status_code == 200


async def _both(client: httpx.Client, other: httpx.Client, url: str) -> tuple[httpx.Response, httpx.Response]:
    loop = asyncio.get_running_loop()
    first = loop.run_in_executor(None, lambda: client.post(url, json=BODY))
    await asyncio.sleep(0.05)
    second = loop.run_in_executor(None, lambda: other.post(url, json=BODY, headers={"X-Request-Timeout": "0.1"}))
    return await first, await second
