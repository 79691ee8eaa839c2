"""`serve` follows the registry: real servers, a real registry (sqlite, and the tracking server
over HTTP), versions that answer differently (x * factor) so every answer names its version."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shipyard import MlflowClient
from shipyard.registry.client import RegistryClient
from shipyard.settings import Settings

BIN = Path(sys.executable).parent
FAST = ("--poll-interval", "0.2")
"""A short poll, so a move is seen within a test's patience."""
SCALED_SOURCE = '''
import time
import numpy as np
from shipyard.flavors.python_model import PythonModel


class Scaled(PythonModel):
    """x * factor; sleeps `delay` s per call; raises on -999 (a broken version's input example);
    with `calls`, appends each call's (start, end) there, so a test sees which calls overlapped."""

    def __init__(self, factor: float, delay: float = 0.0, calls=None) -> None:
        self.factor = factor
        self.delay = delay
        self.calls = calls

    def predict(self, context, model_input, params=None):
        values = np.asarray(model_input["x"], dtype=np.float64)
        if (values == -999).any():
            raise RuntimeError("this version is broken")
        start = time.monotonic()
        if self.delay:
            time.sleep(self.delay)
        if self.calls is not None and (values == 3.0).all():
            with open(self.calls, "a") as out:
                out.write(f"{start} {time.monotonic()}\\n")
        return values * self.factor
'''


def save_scaled(
    path: Path, factor: float, *, broken: bool = False, delay: float = 0.0, calls: Path | None = None
) -> Path:
    """A python_model answering x * factor; `broken`: its input example makes predict raise;
    `calls`: a file where each predict on x = 3.0 records its (start, end)."""
    import importlib.util

    import numpy as np
    import pandas as pd

    from shipyard.flavors.inference import infer_signature
    from shipyard.flavors.python_model import save_model

    code = path.parent / f"{path.name}-code"
    code.mkdir(parents=True)
    source = code / "scaled_model.py"
    source.write_text(textwrap.dedent(SCALED_SOURCE))
    spec = importlib.util.spec_from_file_location("scaled_model", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["scaled_model"] = module
    spec.loader.exec_module(module)
    example = pd.DataFrame({"x": [-999.0 if broken else 1.0, 2.0]})
    save_model(
        path,
        module.Scaled(factor, delay, None if calls is None else str(calls)),
        code_paths=[source],
        signature=infer_signature(pd.DataFrame({"x": [1.0]}), np.array([1.0])),
        input_example=example,
    )
    return path


@contextlib.contextmanager
def tracking_server(tmp: Path, port: int) -> Iterator[str]:
    """A real `shipyard server` (sqlite backend) that the registry client and `serve` reach over HTTP."""
    root = tmp / "tracking"
    root.mkdir()
    log = root / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                str(BIN / "shipyard"),
                "server",
                "--backend-store-uri",
                f"sqlite:///{root / 'db.sqlite'}",
                "--default-artifact-root",
                str(root / "artifacts"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=root,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _status(url + "/health") == 200, "tracking server", log, process)
        yield url
    finally:
        process.terminate()
        process.wait(30)


def _status(url: str) -> int:
    try:
        return httpx.get(url, timeout=5).status_code
    except httpx.HTTPError:
        return 0


def wait_for(
    check: Callable[[], bool], what: str, log: Path, process: subprocess.Popen[bytes], timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s:\n{log.read_text(errors='replace')[-4000:]}")
        time.sleep(0.05)


def predict(url: str, x: float = 3.0) -> float:
    answer = httpx.post(url + "/invocations", json={"dataframe_split": {"columns": ["x"], "data": [[x]]}}, timeout=30)
    assert answer.status_code == 200, answer.text
    return float(answer.json()["predictions"][0])


def version_doc(url: str) -> dict[str, Any]:
    document: dict[str, Any] = httpx.get(url + "/version", headers={"Accept": "application/json"}, timeout=10).json()
    return document


def wait_answering(url: str, factor: float, version: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while predict(url) != 3.0 * factor or version_doc(url)["model"]["version"] != version:
        assert time.monotonic() < deadline, f"version {version} not answering: {version_doc(url)}"
        time.sleep(0.05)


def registry(tracking_uri: str, tmp: Path) -> tuple[RegistryClient, dict[str, str]]:
    cache = str(tmp / "cache")
    client = RegistryClient(tracking_uri=tracking_uri, settings=Settings(tracking_uri=tracking_uri, cache_dir=cache))
    return client, {"SHIPYARD_TRACKING_URI": tracking_uri, "SHIPYARD_CACHE_DIR": cache}


def test_a_production_move_is_followed_and_a_broken_version_never_takes_traffic(
    tmp_path: Path, start_shipyard: Any
) -> None:
    client, env = registry(f"sqlite:///{tmp_path / 'registry.db'}", tmp_path)
    for factor, broken in ((1.0, False), (2.0, False), (5.0, True), (4.0, False)):
        client.register_model(str(save_scaled(tmp_path / f"m{factor}", factor, broken=broken)), "scaled")
    client.transition_model_version_stage("scaled", 1, "Production")
    with start_shipyard("models:/scaled/Production", tmp_path, *FAST, env=env) as server:
        url = server.url
        assert predict(url) == 3.0
        first = version_doc(url)
        assert first["model"]["version"] == "1" and first["following"]["uri"] == "models:/scaled/Production"

        client.transition_model_version_stage("scaled", 2, "Production", archive_existing_versions=True)
        wait_answering(url, 2.0, "2")
        assert version_doc(url)["model"]["stage"] == "Production"
        assert 'model_version="2"' in httpx.get(url + "/metrics").text

        client.transition_model_version_stage("scaled", 3, "Production", archive_existing_versions=True)
        deadline = time.monotonic() + 60
        while version_doc(url)["failed_target"] is None:
            assert predict(url) == 6.0  # the old version keeps answering while the new one fails
            assert time.monotonic() < deadline, version_doc(url)
            time.sleep(0.05)
        document = version_doc(url)
        assert document["model"]["version"] == "2" and document["state"] == "ready"
        assert document["failed_target"]["version"] == "3"
        assert "failed to load or warm up" in document["failed_target"]["reason"]
        assert "RuntimeError" in document["failed_target"]["reason"]
        metrics = httpx.get(url + "/metrics").text
        assert 'shipyard_follow_failed_target{model_name="scaled",reason=' in metrics
        assert 'target_version="3"' in metrics
        assert _status(url + "/health") == 200 and predict(url) == 6.0

        # the next move is followed again, and the failure report is cleared
        client.transition_model_version_stage("scaled", 4, "Production", archive_existing_versions=True)
        wait_answering(url, 4.0, "4")
        assert version_doc(url)["failed_target"] is None
        assert 'target_version="3"' not in httpx.get(url + "/metrics").text


def test_an_alias_move_over_the_tracking_server_keeps_every_request_in_flight(
    tmp_path: Path, start_shipyard: Any, port_factory: Callable[[], int]
) -> None:
    """Requests running on the old version while the alias moves all answer 200, from one
    version or the other, never a mix; afterwards only the new version answers."""
    with tracking_server(tmp_path, port_factory()) as tracking:
        client, env = registry(tracking, tmp_path)
        tracking_client = MlflowClient(tracking, settings=Settings(tracking_uri=tracking))
        run = tracking_client.create_run("0")
        for factor in (1.0, 2.0):
            # NOTE: over HTTP a version comes from a run's artifacts, as MLflow's server requires
            tracking_client.log_artifacts(
                run.info.run_id, str(save_scaled(tmp_path / f"m{factor}", factor, delay=0.02)), f"m{factor}"
            )
            client.register_model(f"runs:/{run.info.run_id}/m{factor}", "slow")
        client.set_registered_model_alias("slow", "champion", 1)
        with start_shipyard("models:/slow@champion", tmp_path, *FAST, "--threads", "2", env=env) as server:
            url = server.url
            assert predict(url) == 3.0
            answers: list[tuple[int, float | None]] = []
            stop = threading.Event()

            def load() -> None:
                with httpx.Client(timeout=30) as http:
                    while not stop.is_set():
                        r = http.post(
                            url + "/invocations", json={"dataframe_split": {"columns": ["x"], "data": [[3.0]]}}
                        )
                        answers.append((r.status_code, r.json()["predictions"][0] if r.status_code == 200 else None))

            threads = [threading.Thread(target=load) for _ in range(8)]
            for thread in threads:
                thread.start()
            try:
                time.sleep(0.5)
                client.set_registered_model_alias("slow", "champion", 2)
                wait_answering(url, 2.0, "2")
                time.sleep(0.5)
            finally:
                stop.set()
                for thread in threads:
                    thread.join()
            assert answers and all(status == 200 for status, _ in answers), {s for s, _ in answers}
            values = [value for _, value in answers]
            assert set(values) == {3.0, 6.0}
            switched = values.index(6.0)
            # NOTE: requests accepted before the swap may still answer a little after it; not long
            assert values[switched:].count(3.0) <= 8, "old answers long after the swap"
            assert version_doc(url)["model"]["aliases"] == ["champion"]


def test_follow_flags_refuse_what_they_cannot_do(tmp_path: Path, iris_dir: Path) -> None:
    shipyard = str(BIN / "shipyard")
    fixed = subprocess.run(
        [shipyard, "serve", "-m", str(iris_dir), "--follow"], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert fixed.returncode != 0 and "cannot be followed" in fixed.stderr and "Traceback" not in fixed.stderr
    zero = subprocess.run(
        [shipyard, "serve", "-m", "models:/x/Production", "--poll-interval", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert zero.returncode != 0 and "poll_interval" in zero.stderr and "Traceback" not in zero.stderr


@pytest.mark.parametrize(("threads", "at_once"), [(1, False), (4, True)])
def test_threads_run_that_many_predicts_at_once(
    tmp_path: Path, start_shipyard: Any, threads: int, at_once: bool
) -> None:
    """--threads N: of 4 one-row requests to a model that sleeps 0.4 s (releasing the GIL), all
    4 predicts overlap with 4 threads, and none does with one (the model records each call)."""
    calls = tmp_path / "calls.txt"
    model = save_scaled(tmp_path / "sleepy", 1.0, delay=0.4, calls=calls)
    with start_shipyard(model, tmp_path, "--threads", str(threads), "--max-batch-size", "1") as server:
        url = server.url
        workers = [threading.Thread(target=predict, args=(url,)) for _ in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    spans = [tuple(map(float, line.split())) for line in calls.read_text().splitlines()]
    assert len(spans) == 4, spans
    most = max(sum(1 for start, end in spans if start <= moment < end) for moment, _ in spans)
    assert most == (4 if at_once else 1), spans
