"""The only place predict leaves the event loop: a thread pool sized for the machine.

onnxruntime, torch and numpy release the GIL inside their kernels, so a few threads let predict
run on one core while the event loop parses and answers HTTP on another. A process pool would
copy the model per process (memory) and pickle every batch (latency); `--workers N` is the way
to get processes, each with its own model copy.

Parsing a large request body leaves the loop through the same pool (`run_if_large`): a 16 MiB
JSON body takes tens of milliseconds to parse and validate, during which every other request on
the loop would wait.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

OFFLOAD_BYTES = 256 * 1024
"""Bodies larger than this are parsed and validated in a worker thread, not on the event loop."""


class Workers:
    """A named thread pool; `run` awaits a blocking call without blocking the loop."""

    def __init__(self, threads: int) -> None:
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        self.threads = threads
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="shipyard-predict")

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        call = functools.partial(fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    async def run_if_large(self, size: int, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` for a request body of `size` bytes: in a thread past OFFLOAD_BYTES, else inline
        (a small body parses faster than a thread hand-off takes)."""
        if size > OFFLOAD_BYTES:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        return fn(*args)

    def start(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Start `fn(*args)` in a thread now; the returned future resolves on the event loop."""
        return asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def close(self, *, wait: bool = True) -> None:
        """Finish running calls (wait=True) and stop the threads."""
        self._pool.shutdown(wait=wait, cancel_futures=not wait)


__all__ = ["OFFLOAD_BYTES", "Workers"]
