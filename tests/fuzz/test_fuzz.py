"""The fuzz corpus (`corpus.json`, written by `make_corpus.py`) against real `shipyard serve`
processes, one per model kind: no 5xx, no 200 that differs from the equivalent valid body,
every 4xx naming the field or header; each server alive and correct afterwards."""

from __future__ import annotations

import base64
import importlib.util
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

HERE = Path(__file__).parent


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("make_corpus", HERE / "make_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_corpus() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads((HERE / "corpus.json").read_text())
    return cases


def test_corpus_is_what_the_generator_writes() -> None:
    generator = _generator()
    assert (HERE / "corpus.json").read_text() == generator.render(), "run python tests/fuzz/make_corpus.py"
    cases = load_corpus()
    assert len(cases) >= 600
    groups = {case["group"].split("-")[0] for case in cases}
    assert {"malformed", "format", "shape", "value", "params", "csv", "encoding", "http", "zero"} <= groups
    assert {case["kind"] for case in cases} == {"iris", "mlp", "pipeline"}


def _request(client: httpx.Client, url: str, case: dict[str, Any]) -> httpx.Response:
    body = base64.b64decode(case["body_b64"]) if "body_b64" in case else case["body"].encode()
    body += b" " * case.get("pad", 0)
    headers = dict(case["headers"])
    if "Content-Type" not in headers:
        headers["Content-Type"] = ""  # NOTE: httpx adds none for raw content; "" stands for "no header"
        del headers["Content-Type"]
    return client.request(case["method"], url + case["path"], content=body, headers=headers)


def _predictions(client: httpx.Client, url: str, body: str) -> Any:
    answer = client.post(url + "/invocations", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 200, f"the reference body fails: {answer.status_code} {answer.text[:300]}"
    return answer.json()["predictions"]


def _problem(client: httpx.Client, url: str, case: dict[str, Any]) -> str | None:
    """What is wrong with the server's answer to one case (None: nothing)."""
    answer = _request(client, url, case)
    status = answer.status_code
    if status >= 500:
        return f"{status}: {answer.text[:300]}"
    if case["expect"] == "2xx":
        if status != 200:
            return f"expected 200, got {status}: {answer.text[:300]}"
        got = answer.json()["predictions"]
        want = case["predictions"] if "predictions" in case else _predictions(client, url, case["same_as"])
        return None if got == want else f"200 with {str(got)[:200]}, the equivalent body gives {str(want)[:200]}"
    if not 400 <= status < 500:
        return f"expected a 4xx, got {status}: {answer.text[:300]}"
    if "status" in case and status != case["status"]:
        return f"expected {case['status']}, got {status}: {answer.text[:300]}"
    try:
        message = answer.json()["message"]
    except (ValueError, KeyError):
        return f"{status} without a JSON message: {answer.text[:300]}"
    if case["mentions"] and not any(m in message for m in case["mentions"]):
        return f"{status} names none of {case['mentions']}: {message[:300]}"
    return None


@pytest.mark.parametrize("kind", ["iris", "mlp", "pipeline"])
def test_corpus_against_a_real_server(kind: str, servers: dict[str, str]) -> None:
    url = servers[kind]
    cases = [case for case in load_corpus() if case["kind"] == kind]
    reference = next(case for case in cases if case["expect"] == "2xx" and "same_as" in case)["same_as"]
    problems: list[str] = []
    with httpx.Client(timeout=30) as client:
        before = _predictions(client, url, reference)
        started = time.monotonic()
        for case in cases:
            problem = _problem(client, url, case)
            if problem is not None:
                problems.append(f"{case['id']}: {problem}")
        elapsed = time.monotonic() - started
        assert client.get(url + "/health").status_code == 200, "the server is not healthy after the corpus"
        assert _predictions(client, url, reference) == before, "the server scores differently after the corpus"
    print(f"fuzz {kind}: {len(cases)} cases in {elapsed:.1f} s, {len(problems)} problems")
    assert not problems, f"{len(problems)} of {len(cases)} cases:\n" + "\n".join(problems[:60])
