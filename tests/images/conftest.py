"""Image fixtures: small real models in temporary folders, and the Docker engine when one answers.

Engine tests run when an engine answers; with CI=true and no engine (or no base image) they fail
instead of skipping, so CI cannot pass without exercising real builds.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

import shipyard
from shipyard.exceptions import EngineUnavailable
from shipyard.images.build import connect
from shipyard.images.spec import DEFAULT_BASE_IMAGE

IRIS_COLUMNS = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]


def save_iris(path: Path, c: float = 1.0) -> Path:
    """A fitted iris logistic regression saved with Shipyard's sklearn flavor."""
    import pandas as pd
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    x, y = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=500, C=c).fit(x, y)
    shipyard.sklearn.save_model(model, path, input_example=pd.DataFrame(x.head(3)))
    return path


def save_onnx_mlp(path: Path) -> Path:
    """A two-layer MLP written directly as an ONNX graph (fixed weights, input `x` of width 4)."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(7)
    w1 = rng.normal(size=(4, 8)).astype(np.float32)
    w2 = rng.normal(size=(8, 3)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "w1"], ["h"]),
            helper.make_node("Relu", ["h"], ["r"]),
            helper.make_node("MatMul", ["r", "w2"], ["y"]),
        ],
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])],
        initializer=[numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = 8
    shipyard.onnx.save_model(proto, path)
    return path


class Models:
    """The model factories, as a fixture (test modules cannot import conftest by name)."""

    iris_columns = IRIS_COLUMNS
    save_iris = staticmethod(save_iris)
    save_onnx_mlp = staticmethod(save_onnx_mlp)


@pytest.fixture(scope="session")
def models() -> type[Models]:
    return Models


@pytest.fixture
def iris_dir(tmp_path: Path) -> Callable[..., Path]:
    def make(name: str = "iris", c: float = 1.0) -> Path:
        return save_iris(tmp_path / name, c)

    return make


def _engine_or_fail() -> object:
    ci = os.environ.get("CI", "").lower() == "true"
    try:
        client = connect(dict(os.environ), timeout=900)
    except EngineUnavailable as exc:
        if ci:
            pytest.fail(f"CI=true but no Docker engine answers: {exc.message}")
        pytest.skip(f"no Docker engine answers (run .ci/docker-setup.sh): {exc.message}")
    try:
        client.images.get(DEFAULT_BASE_IMAGE)
    except Exception as exc:  # docker.errors.ImageNotFound
        if ci:
            pytest.fail(f"CI=true but base image {DEFAULT_BASE_IMAGE} is missing: {exc}")
        pytest.skip(f"base image {DEFAULT_BASE_IMAGE} missing (run .ci/docker-setup.sh)")
    return client


@pytest.fixture(scope="session")
def docker_client() -> Iterator[object]:
    client = _engine_or_fail()
    yield client
    client.close()  # type: ignore[attr-defined]
