"""Real servers on free 127.0.0.1 ports, over real model directories built in a temp folder."""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest

BIN = Path(sys.executable).parent
IRIS_COLUMNS = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A server subprocess: its base URL, process and log file."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_log(self, text: str, *, count: int = 1, timeout: float = 30) -> str:
        """The log once `text` appears in it `count` times (the access log writes every 50 ms)."""
        deadline = time.monotonic() + timeout
        while (log := self.log_text()).count(text) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not logged {count} times within {timeout}s:\n{log[-3000:]}")
            time.sleep(0.05)
        return log

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(10)


def wait_until(
    url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60, ok: tuple[int, ...] = (200,)
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code in ok:
                return
        time.sleep(0.1)
    raise AssertionError(f"{url} not ready within {timeout}s:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def shipyard_server(
    model_dir: Path | str, tmp: Path, *args: str, ready_path: str = "/health", env: dict[str, str] | None = None
) -> Iterator[Server]:
    port = free_port()
    log = tmp / f"shipyard-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(BIN / "shipyard"), "serve", "-m", str(model_dir), "-p", str(port), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp,
            env={**os.environ, **(env or {})},
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_until(server.url + ready_path, process, log)
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def mlflow_server(model_dir: Path, tmp: Path) -> Iterator[Server]:
    """`mlflow models serve --env-manager local` on the same directory (needs only the venv)."""
    port = free_port()
    log = tmp / f"mlflow-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                str(BIN / "mlflow"),
                "models",
                "serve",
                "-m",
                str(model_dir),
                "-p",
                str(port),
                "-h",
                "127.0.0.1",
                "--env-manager",
                "local",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp,
            env={**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}"},
            start_new_session=True,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_until(server.url + "/ping", process, log, timeout=120)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


# -- model factories (MLflow-saved, so both servers read the very same directory) -------------
@contextlib.contextmanager
def mlflow_quirks() -> Iterator[None]:
    """NOTE: mlflow 3.17's save_model warns from inside itself (a pandas-3 Index compared with a
    range: Pandas4Warning; "Any type hint is inferred as AnyType": UserWarning); neither is ours
    to fix, so warnings are silenced only for the duration of mlflow's own save call."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def build_iris(path: Path) -> Path:
    """Logistic regression fitted on a DataFrame (column signature, needs column names)."""
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    x, y = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=500).fit(x, y)
    with mlflow_quirks():
        mlflow.sklearn.save_model(
            model, str(path), signature=infer_signature(x, model.predict(x)), input_example=x.head(2)
        )
    return path


def build_onnx_mlp(path: Path, inputs: int = 8, hidden: int = 16, outputs: int = 3) -> Path:
    """A small float32 MLP built with onnx.helper from fixed numpy weights (tensor signature)."""
    import mlflow.onnx
    from mlflow.models import infer_signature

    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w1 = rng.standard_normal((inputs, hidden)).astype(np.float32)
    w2 = rng.standard_normal((hidden, outputs)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "w1"], ["h"]),
            helper.make_node("Relu", ["h"], ["r"]),
            helper.make_node("MatMul", ["r", "w2"], ["y"]),
        ],
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, inputs])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, outputs])],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    example = rng.standard_normal((2, inputs)).astype(np.float32)
    out = np.maximum(example @ w1, 0) @ w2
    with mlflow_quirks():
        mlflow.onnx.save_model(model, str(path), signature=infer_signature(example, out), input_example=example)
    return path


PYTHON_MODEL_SOURCE = '''
import os
import time
import numpy as np
from shipyard.flavors.python_model import PythonModel


class Scripted(PythonModel):
    """Doubles column x; sleeps `delay` seconds per call; raises when x holds -999."""

    def __init__(self, delay: float = 0.0, load_delay: float = 0.0, slow_marker=None, gate=None) -> None:
        self.delay = delay
        self.load_delay = load_delay
        self.slow_marker = slow_marker
        self.gate = gate

    def load_context(self, context):
        if self.slow_marker is not None:
            try:  # only the one process that creates the marker loads slowly
                os.close(os.open(self.slow_marker, os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                return
        if self.gate is None:
            time.sleep(self.load_delay)
            return
        deadline = time.monotonic() + self.load_delay  # the gate opens it, at the latest the deadline
        while not os.path.exists(self.gate) and time.monotonic() < deadline:
            time.sleep(0.02)

    def predict(self, context, model_input, params=None):
        values = np.asarray(model_input["x"], dtype=np.float64)
        if (values == -999).any():
            raise RuntimeError("scripted failure")
        if self.delay:
            time.sleep(self.delay)
        return values * 2
'''


def build_python_model(
    path: Path,
    code_dir: Path,
    *,
    delay: float = 0.0,
    load_delay: float = 0.0,
    slow_marker: Path | None = None,
    gate: Path | None = None,
) -> Path:
    """A Shipyard python_model with a controllable delay and a failure trigger; with `slow_marker`,
    only the first process to load it sleeps `load_delay` (one slow worker among several). With
    `gate`, the slow load lasts until the test creates that file (`load_delay` is then only the
    bound), so a test sees the model loading for as long as it needs, however slow the machine."""
    import importlib.util

    import pandas as pd

    from shipyard.flavors.inference import infer_signature
    from shipyard.flavors.python_model import save_model

    code_dir.mkdir(parents=True, exist_ok=True)
    source = code_dir / "scripted_model.py"
    source.write_text(textwrap.dedent(PYTHON_MODEL_SOURCE))
    spec = importlib.util.spec_from_file_location("scripted_model", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["scripted_model"] = module
    spec.loader.exec_module(module)
    example = pd.DataFrame({"x": [1.0, 2.0]})
    save_model(
        path,
        module.Scripted(delay, load_delay, str(slow_marker) if slow_marker else None, str(gate) if gate else None),
        code_paths=[source],
        signature=infer_signature(example, np.array([2.0, 4.0])),
        input_example=example,
    )
    return path


@pytest.fixture
def restore_gc() -> Iterator[None]:
    """For tests that load a model in-process: the load disables the collector, then freezes
    what it loaded; the next test starts from a plain, enabled collector."""
    gc.enable()
    yield
    gc.unfreeze()
    gc.enable()


@pytest.fixture(scope="session")
def model_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runtime-models")


@pytest.fixture(scope="session")
def iris_dir(model_root: Path) -> Path:
    return build_iris(model_root / "iris")


@pytest.fixture(scope="session")
def onnx_dir(model_root: Path) -> Path:
    return build_onnx_mlp(model_root / "mlp")


@pytest.fixture(scope="session")
def start_shipyard() -> object:
    """`with start_shipyard(model_dir, tmp, *flags) as server:` a real `shipyard serve`."""
    return shipyard_server


@pytest.fixture(scope="session")
def start_mlflow() -> object:
    """`with start_mlflow(model_dir, tmp) as server:` a real `mlflow models serve`."""
    return mlflow_server


@pytest.fixture(scope="session")
def port_factory() -> object:
    """`port_factory()`: a free 127.0.0.1 port, for servers a test starts itself."""
    return free_port


@pytest.fixture(scope="session")
def python_model_factory() -> object:
    """`python_model_factory(path, code_dir, delay=..., load_delay=..., gate=...)` builds a python_model."""
    return build_python_model
