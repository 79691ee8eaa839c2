"""The three model kinds the fuzz corpus runs against, and one real `shipyard serve` per kind.

- `iris`: logistic regression on iris (a column signature of four required doubles);
- `mlp`: a float32 ONNX MLP (a tensor signature of shape (-1, 8));
- `pipeline`: a python_model wrapping an sklearn Pipeline over a string, a double and a long
  column, with a params schema (double, long, string, boolean).
Servers are session-scoped: one process per kind for every test here (the requests are stateless).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

import shipyard

BIN = Path(sys.executable).parent
KINDS = ("iris", "mlp", "pipeline")

PIPELINE_SOURCE = '''
import numpy as np
from shipyard.flavors.python_model import PythonModel


class Scored(PythonModel):
    """An sklearn Pipeline (one-hot colour + scaled numbers -> logistic regression); params
    scale and shift the probability of class 1 so a test sees them arrive."""

    def __init__(self, pipeline) -> None:
        self.pipeline = pipeline

    def predict(self, context, model_input, params=None):
        params = params or {}
        if params.get("label") == "raise":
            raise RuntimeError("the model's own failure")
        proba = self.pipeline.predict_proba(model_input)[:, 1]
        return np.round(proba * float(params.get("scale", 1.0)) + int(params.get("shift", 0)), 6)
'''

PIPELINE_PARAMS = {"scale": 1.0, "shift": 0, "label": "x", "strict": False}


def save_iris(path: Path) -> Path:
    import pandas as pd
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    x, y = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=500).fit(x, y)
    shipyard.sklearn.save_model(model, path, input_example=pd.DataFrame(x.head(2)))
    return path


def save_mlp(path: Path, inputs: int = 8, hidden: int = 16, outputs: int = 3) -> Path:
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
        initializer=[numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = 8
    example = rng.standard_normal((2, inputs)).astype(np.float32)
    shipyard.onnx.save_model(proto, path, input_example=example)
    return path


def save_pipeline(path: Path, code_dir: Path) -> Path:
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from shipyard.flavors.inference import infer_signature
    from shipyard.flavors.python_model import save_model

    code_dir.mkdir(parents=True, exist_ok=True)
    source = code_dir / "fuzz_pipeline_model.py"
    source.write_text(textwrap.dedent(PIPELINE_SOURCE))
    spec = importlib.util.spec_from_file_location("fuzz_pipeline_model", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_pipeline_model"] = module
    spec.loader.exec_module(module)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "color": rng.choice(["red", "green", "blue"], 60),
            "size": rng.normal(5.0, 2.0, 60),
            "count": rng.integers(0, 10, 60).astype(np.int64),
        }
    )
    target = ((frame["color"] == "red") | (frame["size"] > 5.5)).astype(int)
    columns = ColumnTransformer(
        [("onehot", OneHotEncoder(handle_unknown="ignore"), ["color"]), ("scale", StandardScaler(), ["size", "count"])]
    )
    pipeline = Pipeline([("prep", columns), ("model", LogisticRegression())]).fit(frame, target)
    example = frame.head(2)
    save_model(
        path,
        module.Scored(pipeline),
        code_paths=[source],
        signature=infer_signature(example, np.array([0.5, 0.5]), params=PIPELINE_PARAMS),
        input_example=example,
    )
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve(model_dir: Path, tmp: Path, *args: str) -> Iterator[str]:
    """A real `shipyard serve` on a free port; yields its base URL once /health answers 200."""
    port = free_port()
    log = tmp / f"serve-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(BIN / "shipyard"), "serve", "-m", str(model_dir), "-p", str(port), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp,
            env=dict(os.environ),
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, f"server exited:\n{log.read_text()[-3000:]}"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, f"server not ready:\n{log.read_text()[-3000:]}"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture(scope="session")
def model_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("fuzz-models")
    return {
        "iris": save_iris(root / "iris"),
        "mlp": save_mlp(root / "mlp"),
        "pipeline": save_pipeline(root / "pipeline", root / "code"),
    }


@pytest.fixture(scope="session")
def servers(model_dirs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """{kind: base URL}: one `shipyard serve` per model kind, up for the whole session."""
    tmp = tmp_path_factory.mktemp("fuzz-serve")
    with contextlib.ExitStack() as stack:
        yield {kind: stack.enter_context(serve(path, tmp)) for kind, path in model_dirs.items()}
