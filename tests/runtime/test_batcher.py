"""The batcher as a generic object: every request gets exactly its own rows back, in order.

The predict function here is plain Python (the batcher wraps any blocking callable); the
model-backed behaviour is covered by the server tests.
"""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipyard.exceptions import DeadlineExceeded, PredictionFailed, ShipyardError, TemporarilyUnavailable
from shipyard.runtime.batcher import Batcher
from shipyard.runtime.workers import Workers

POISON = -1.0


class RecordingPredict:
    """Doubles each row; raises for a batch holding the POISON value; records batch sizes."""

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.lock = threading.Lock()

    def __call__(self, data: np.ndarray, params: dict | None) -> np.ndarray:
        with self.lock:
            self.batches.append(len(data))
        if (data[:, 0] == POISON).any():
            raise RuntimeError("poisoned batch")
        return data * 2.0


requests_strategy = st.lists(
    st.tuples(st.integers(min_value=0, max_value=40), st.booleans(), st.integers(0, 3)),
    min_size=1,
    max_size=30,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    requests=requests_strategy,
    max_batch_size=st.integers(min_value=1, max_value=64),
    delay_ms=st.sampled_from([0.0, 0.5, 2.0]),
    concurrency=st.integers(min_value=1, max_value=3),
)
def test_every_request_gets_exactly_its_rows_in_order(
    requests: list[tuple[int, bool, int]], max_batch_size: int, delay_ms: float, concurrency: int
) -> None:
    predict = RecordingPredict()
    workers = Workers(2)

    async def scenario() -> None:
        batcher = Batcher(
            predict,
            start_work=workers.start,
            max_batch_size=max_batch_size,
            max_batch_delay=delay_ms / 1000,
            max_queue=1000,
            max_concurrency=concurrency,
        )

        async def one(index: int, rows: int, poisoned: bool, stagger: int) -> None:
            await asyncio.sleep(stagger / 2000)
            data = np.arange(rows * 2, dtype=np.float64).reshape(rows, 2) + 1000.0 * (index + 1)
            if poisoned and rows:
                data[0, 0] = POISON
            try:
                out = await batcher.submit(data, rows, None, timeout=30)
            except PredictionFailed as exc:
                assert exc.error_id
                assert (poisoned and rows) or batch_with_poison_possible()
                return
            assert not (poisoned and rows), "a poisoned request cannot succeed"
            np.testing.assert_array_equal(out, data * 2.0)

        def batch_with_poison_possible() -> bool:
            return any(p and r for r, p, _ in requests)

        await asyncio.gather(*(one(i, r, p, s) for i, (r, p, s) in enumerate(requests)))
        await batcher.close()

    try:
        asyncio.run(scenario())
    finally:
        workers.close()
    total = sum(rows for rows, _, _ in requests)
    assert sum(predict.batches) == total
    biggest_request = max(rows for rows, _, _ in requests)
    assert max(predict.batches) <= max(max_batch_size, biggest_request)


def test_failure_reaches_every_request_in_the_batch() -> None:
    """Requests merged with a poisoned one all get the same error id; later batches succeed."""
    workers = Workers(1)
    gate = threading.Event()

    def predict(data: np.ndarray, params: dict | None) -> np.ndarray:
        gate.wait(5)
        if (data == POISON).any():
            raise ValueError("boom")
        return data + 1

    async def scenario() -> list[object]:
        batcher = Batcher(predict, start_work=workers.start, max_batch_size=100, max_queue=100)
        first = asyncio.ensure_future(batcher.submit(np.zeros((1, 1)), 1, timeout=10))
        await asyncio.sleep(0.05)  # the first batch is now blocked inside predict
        merged = [asyncio.ensure_future(batcher.submit(np.full((2, 1), v), 2, timeout=10)) for v in (1.0, POISON, 3.0)]
        await asyncio.sleep(0.05)
        gate.set()
        results = await asyncio.gather(first, *merged, return_exceptions=True)
        after = await batcher.submit(np.ones((1, 1)), 1, timeout=10)
        await batcher.close()
        return [*results, after]

    try:
        results = asyncio.run(scenario())
    finally:
        workers.close()
    np.testing.assert_array_equal(results[0], np.ones((1, 1)))
    errors = results[1:4]
    assert all(isinstance(e, PredictionFailed) for e in errors)
    assert len({e.error_id for e in errors}) == 1  # type: ignore[union-attr]
    np.testing.assert_array_equal(results[4], np.full((1, 1), 2.0))


def test_queue_bound_timeout_and_wrong_output_count() -> None:
    workers = Workers(1)
    gate = threading.Event()

    def slow(data: np.ndarray, params: dict | None) -> np.ndarray:
        gate.wait(5)
        return data

    async def scenario() -> None:
        batcher = Batcher(slow, start_work=workers.start, max_batch_size=1, max_queue=2)
        running = asyncio.ensure_future(batcher.submit(np.zeros((1, 1)), 1, timeout=10))
        await asyncio.sleep(0.05)
        queued = [asyncio.ensure_future(batcher.submit(np.zeros((1, 1)), 1, timeout=0.1)) for _ in range(2)]
        await asyncio.sleep(0)
        with pytest.raises(TemporarilyUnavailable):
            await batcher.submit(np.zeros((1, 1)), 1, timeout=10)
        for task in queued:
            with pytest.raises(DeadlineExceeded):
                await task
        gate.set()
        await running
        await batcher.close()

        bad = Batcher(lambda d, p: d[:-1], start_work=workers.start, max_batch_size=8)
        with pytest.raises(ShipyardError, match="one output per input row"):
            await bad.submit(np.zeros((3, 1)), 3, timeout=5)
        await bad.close()

    try:
        asyncio.run(scenario())
    finally:
        workers.close()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_batch_size": 0},
        {"max_batch_size": 1, "max_queue": 0},
        {"max_batch_size": 1, "max_batch_delay": -1.0},
        {"max_batch_size": 1, "max_concurrency": 0},
    ],
)
def test_arguments_are_checked(kwargs: dict) -> None:
    workers = Workers(1)

    async def make() -> None:
        Batcher(lambda d, p: d, start_work=workers.start, **kwargs)

    try:
        with pytest.raises(ValueError):
            asyncio.run(make())
    finally:
        workers.close()


def test_a_request_submitted_alone_never_shares_a_predict_call() -> None:
    """A chat-style body (`alone=True`) is one whole input: it runs by itself and gets the whole
    output back, unsplit, while the requests queued around it still batch together."""
    workers = Workers(1)
    gate = threading.Event()
    calls: list[object] = []

    def predict(data: object, params: dict | None) -> object:
        gate.wait(5)
        calls.append(data)
        if isinstance(data, dict):
            return {"answer": len(data["messages"])}  # not one output per row: never split
        return np.asarray(data) * 2

    async def scenario() -> list[object]:
        batcher = Batcher(predict, start_work=workers.start, max_batch_size=100, max_queue=100)
        first = asyncio.ensure_future(batcher.submit(np.zeros((1, 1)), 1, timeout=10))
        await asyncio.sleep(0.05)  # the first call is now blocked inside predict
        queued = [
            asyncio.ensure_future(batcher.submit(np.ones((1, 1)), 1, timeout=10)),
            asyncio.ensure_future(batcher.submit({"messages": [1, 2, 3]}, 1, timeout=10, alone=True)),
            asyncio.ensure_future(batcher.submit(np.ones((2, 1)), 2, timeout=10)),
            asyncio.ensure_future(batcher.submit(np.ones((1, 1)), 1, timeout=10)),
        ]
        gate.set()
        results = await asyncio.gather(first, *queued)
        await batcher.close()
        return results

    try:
        results = asyncio.run(scenario())
    finally:
        workers.close()
    assert results[2] == {"answer": 3}
    np.testing.assert_array_equal(results[3], np.full((2, 1), 2.0))
    shapes = [d if isinstance(d, dict) else np.asarray(d).shape for d in calls]
    assert shapes == [(1, 1), (1, 1), {"messages": [1, 2, 3]}, (3, 1)]
