"""`shipyard serve` and the process's `Settings` it contains: the start-up log line masks a
password in the tracking URL, and `SHIPYARD_ALLOW_PICKLE` reaches every worker process."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

PASSWORD = "s3cret-pw"


def test_serve_logs_its_settings_without_the_password(onnx_dir: Path, tmp_path: Path, start_shipyard: Any) -> None:
    """Serving a local directory never connects to the tracking store, so any host will do."""
    env = {"SHIPYARD_TRACKING_URI": f"postgresql://shipyard:{PASSWORD}@db.invalid:5432/runs"}
    flags = ("--workers", "2", "--log-level", "debug")
    with start_shipyard(onnx_dir, tmp_path, *flags, env=env) as server:
        inputs = np.zeros((2, 8), dtype=np.float32).tolist()
        answer = httpx.post(server.url + "/invocations", json={"inputs": inputs}, timeout=30)
        assert answer.status_code == 200, answer.text
    output = server.log_text()
    assert "shipyard serve settings" in output and "shipyard:***@db.invalid" in output, output
    assert PASSWORD not in output, output


def test_allow_pickle_variable_reaches_every_worker(
    tmp_path: Path, start_shipyard: Any, python_model_factory: Any
) -> None:
    """A python_model is cloudpickled: with SHIPYARD_ALLOW_PICKLE=false the workers refuse it
    (the variable is read once, by the CLI, and handed to them inside the settings)."""
    model = python_model_factory(tmp_path / "pickled", tmp_path / "code")
    env = {"SHIPYARD_ALLOW_PICKLE": "false"}
    with start_shipyard(model, tmp_path, "--workers", "2", ready_path="/v2/health/live", env=env) as server:
        deadline = time.monotonic() + 30
        answers: list[httpx.Response] = []
        while time.monotonic() < deadline and len(answers) < 6:
            answer = httpx.get(server.url + "/health", timeout=10)
            if "is loading" in answer.text:  # a worker not done yet
                time.sleep(0.1)
                continue
            answers.append(answer)
        assert len(answers) == 6, [a.text for a in answers]
        for answer in answers:
            assert answer.status_code == 503 and "pickle" in answer.json()["message"].lower(), answer.text
