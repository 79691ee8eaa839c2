"""A closed-loop HTTP/1.1 load generator that records every answer's status and latency.

wrk reports one latency distribution over all answers; the overload check needs the 200s' own
tail and which non-200s were 503s with Retry-After, so this one keeps (start, latency, status,
Retry-After, body) per request. Raw asyncio streams on uvloop, one keep-alive connection per client,
the same request bytes every time: cheap enough to offer several times what the server clears.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import uvloop


@dataclass(frozen=True, slots=True)
class Answer:
    started: float
    seconds: float
    status: int
    retry_after: bool
    body: bytes = b""


def request_bytes(url: str, path: str, body: bytes) -> bytes:
    host = urlsplit(url).netloc
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    retry_after = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"retry-after":
            retry_after = True
    return status, retry_after, await reader.readexactly(length)


async def _client(url: str, payload: bytes, until: float, out: list[Answer]) -> None:
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        while (now := time.monotonic()) < until:
            writer.write(payload)
            status, retry_after, body = await _read_answer(reader)
            out.append(Answer(now, time.monotonic() - now, status, retry_after, body))
    except (ConnectionError, asyncio.IncompleteReadError):
        out.append(Answer(time.monotonic(), 0.0, 0, False))
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def _phases(url: str, payload: bytes, phases: list[tuple[int, float]]) -> list[list[Answer]]:
    results = []
    for clients, seconds in phases:
        out: list[Answer] = []
        until = time.monotonic() + seconds
        await asyncio.gather(*(_client(url, payload, until, out) for _ in range(clients)))
        results.append(out)
    return results


def run_until(url: str, path: str, body: bytes, clients: int, until: float) -> list[Answer]:
    """`clients` connections until the monotonic time `until`; every answer, body included."""
    payload = request_bytes(url, path, body)
    out: list[Answer] = []

    async def clients_all() -> None:
        await asyncio.gather(*(_client(url, payload, until, out) for _ in range(clients)))

    uvloop.run(clients_all())
    return out


def run_phases(url: str, path: str, body: bytes, phases: list[tuple[int, float]]) -> list[list[Answer]]:
    """Each (clients, seconds) phase in turn, back to back; every answer of each phase."""
    payload = request_bytes(url, path, body)
    return uvloop.run(_phases(url, payload, phases))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


__all__ = ["Answer", "percentile", "request_bytes", "run_phases", "run_until"]
