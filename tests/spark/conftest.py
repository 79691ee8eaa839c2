"""One real local Spark (`local[2]`) for the whole test session, and small real models to score.

NOTE: Spark starts its Python workers with `PYSPARK_PYTHON` (else `python3` on PATH), not with
the test's interpreter; the fixture points it at this interpreter for the session so workers
import this checkout's Shipyard, and restores it afterwards.
"""

from __future__ import annotations

import os
import sys
import textwrap
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

PANDAS_3_WARNING = "ignore:PySpark does not yet fully support pandas:FutureWarning"
"""pyspark 4.x warns on every pandas_udf under pandas 3; it is pyspark's notice, not our code's."""


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    previous = os.environ.get("PYSPARK_PYTHON")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("shipyard-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        # NOTE: workers start in the repository root, whose sklearn.py/onnx.py would shadow the
        # libraries; PYTHONSAFEPATH keeps the working directory off their sys.path.
        .config("spark.executorEnv.PYTHONSAFEPATH", "1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()
        if previous is None:
            os.environ.pop("PYSPARK_PYTHON", None)
        else:
            os.environ["PYSPARK_PYTHON"] = previous


@pytest.fixture(scope="session")
def iris() -> pd.DataFrame:
    """Iris features with Spark-friendly column names, and the label."""
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True, as_frame=True)
    X.columns = [c.replace(" (cm)", "").replace(" ", "_") for c in X.columns]
    X["label"] = y
    return X


FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


@pytest.fixture(scope="session")
def sklearn_dir(tmp_path_factory: pytest.TempPathFactory, iris: pd.DataFrame) -> Path:
    from sklearn.linear_model import LogisticRegression

    import shipyard.sklearn

    model = LogisticRegression(max_iter=500).fit(iris[FEATURES], iris["label"])
    path = tmp_path_factory.mktemp("spark-sklearn") / "model"
    shipyard.sklearn.save_model(model, path, input_example=iris[FEATURES].head(3))
    return path


def onnx_affine(seed: int = 0) -> tuple[Any, np.ndarray, np.ndarray]:
    """y = x @ W + b over x: float32[None, 4] -> float32[None, 3], built with onnx.helper."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    w = rng.normal(size=(4, 3)).astype(np.float32)
    b = rng.normal(size=3).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["m"]), helper.make_node("Add", ["m", "b"], ["y"])],
        "affine",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model, w, b


@pytest.fixture(scope="session")
def onnx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import shipyard.onnx

    model, _, _ = onnx_affine()
    path = tmp_path_factory.mktemp("spark-onnx") / "model"
    shipyard.onnx.save_model(model, path)
    return path


PYTHON_MODEL_SOURCE = '''
import os

import numpy as np
import pandas as pd

from shipyard.pyfunc import PythonModel


class TwoOutputs(PythonModel):
    """Named outputs; `rows` is the size of the batch predict saw; each load is logged to a file."""

    def load_context(self, context):
        log = context.model_config.get("load_log")
        if log:
            with open(log, "a") as fh:
                fh.write(f"{os.getpid()}\\n")

    def predict(self, context, model_input, params=None):
        scale = (params or {}).get("scale", 1.0)
        x = model_input["x"].to_numpy(dtype=float)
        return pd.DataFrame({"doubled": x * 2 * scale, "rows": np.full(len(x), len(x), dtype=np.int64)})
'''


def save_code_model(root: Path, module: str, source: str, class_name: str, **save_kwargs: Any) -> Path:
    """A python_model whose class lives in its code_paths (so executors import it from the model),
    saved under `root/model`; the module is importable only while saving."""
    import importlib

    import shipyard.pyfunc

    path = root / f"{module}.py"
    path.write_text(textwrap.dedent(source))
    sys.path.insert(0, str(root))
    try:
        model_class = getattr(importlib.import_module(module), class_name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # no input example: not what these tests are about
            shipyard.pyfunc.save_model(root / "model", python_model=model_class(), code_paths=[path], **save_kwargs)
    finally:
        sys.path.remove(str(root))
        sys.modules.pop(module, None)
    return root / "model"


@pytest.fixture(scope="session")
def python_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from shipyard.models import ModelSignature
    from shipyard.types import ColSpec, ParamSchema, ParamSpec, Schema

    signature = ModelSignature(
        inputs=Schema([ColSpec("double", "x")]),
        outputs=Schema([ColSpec("double", "doubled"), ColSpec("long", "rows")]),
        params=ParamSchema([ParamSpec("scale", "double", 1.0)]),
    )
    return save_code_model(
        tmp_path_factory.mktemp("spark-python-model"),
        "spark_two_outputs",
        PYTHON_MODEL_SOURCE,
        "TwoOutputs",
        signature=signature,
        model_config={"load_log": ""},
    )
