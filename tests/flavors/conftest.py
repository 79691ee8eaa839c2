"""Small real models built in a temporary directory: iris classifiers, an ONNX MLP, torch MLPs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="session")
def iris() -> tuple[pd.DataFrame, np.ndarray]:
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True, as_frame=True)
    return X, y.to_numpy()


@pytest.fixture(scope="session")
def iris_lr_frame(iris: tuple[pd.DataFrame, np.ndarray]) -> Any:
    """LogisticRegression fitted on a DataFrame (it checks column names)."""
    from sklearn.linear_model import LogisticRegression

    X, y = iris
    return LogisticRegression(max_iter=500).fit(X, y)


@pytest.fixture(scope="session")
def iris_lr_array(iris: tuple[pd.DataFrame, np.ndarray]) -> Any:
    """LogisticRegression fitted on a numpy array (no feature names)."""
    from sklearn.linear_model import LogisticRegression

    X, y = iris
    return LogisticRegression(max_iter=500).fit(X.to_numpy(), y)


def mlp_weights(sizes: list[int], seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [
        (rng.normal(scale=0.1, size=(a, b)).astype(np.float32), rng.normal(size=b).astype(np.float32))
        for a, b in zip(sizes[:-1], sizes[1:], strict=True)
    ]


def onnx_mlp(sizes: list[int], seed: int = 0) -> Any:
    """An MLP (MatMul+Add, Relu between layers) built with onnx.helper from numpy weights."""
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits, prev = [], [], "x"
    weights = mlp_weights(sizes, seed)
    for i, (w, b) in enumerate(weights):
        inits += [numpy_helper.from_array(w, f"W{i}"), numpy_helper.from_array(b, f"b{i}")]
        nodes += [
            helper.make_node("MatMul", [prev, f"W{i}"], [f"m{i}"]),
            helper.make_node("Add", [f"m{i}", f"b{i}"], [f"a{i}"]),
        ]
        prev = f"a{i}"
        if i < len(weights) - 1:
            nodes.append(helper.make_node("Relu", [prev], [f"r{i}"]))
            prev = f"r{i}"
    nodes.append(helper.make_node("Identity", [prev], ["y"]))
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, sizes[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, sizes[-1]])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def numpy_mlp(x: np.ndarray, sizes: list[int], seed: int = 0) -> np.ndarray:
    weights = mlp_weights(sizes, seed)
    for i, (w, b) in enumerate(weights):
        x = x @ w + b
        if i < len(weights) - 1:
            x = np.maximum(x, 0)
    return x


def torch_mlp(sizes: list[int], seed: int = 0) -> Any:
    import torch

    layers: list[Any] = []
    for i, (w, b) in enumerate(mlp_weights(sizes, seed)):
        lin = torch.nn.Linear(w.shape[0], w.shape[1])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w.T.copy()))
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers).eval()


@pytest.fixture(scope="session")
def build() -> Any:
    """The model factories above, for tests (conftest helpers are not importable modules)."""
    from types import SimpleNamespace

    return SimpleNamespace(onnx_mlp=onnx_mlp, numpy_mlp=numpy_mlp, torch_mlp=torch_mlp)


@pytest.fixture(scope="session")
def runtime_helpers() -> Any:
    """tests/runtime/conftest.py's server helpers (`shipyard_server`, `Server`, ...), one copy.

    NOTE: a sibling folder's conftest is not visible here, so it is loaded by path under the name
    pytest's importlib mode gives it; when pytest has already imported it, that module is reused."""
    name = "tests.runtime.conftest"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "runtime" / "conftest.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
