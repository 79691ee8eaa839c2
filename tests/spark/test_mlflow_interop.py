"""MLflow's spark_udf scores a Shipyard-saved model (through its `_load_pyfunc`), and Shipyard's
spark_udf scores an MLflow-saved one; both equal in-process predictions on the same rows."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import shipyard.pyfunc
from tests.spark.conftest import FEATURES, PANDAS_3_WARNING

pytestmark = pytest.mark.filterwarnings(PANDAS_3_WARNING)


def scored(frame: Any, column: Any) -> np.ndarray:
    """The UDF's values in the frame's row order (an id column keeps the order)."""
    rows = frame.select("id", column.alias("p")).collect()
    return np.array([r["p"] for r in sorted(rows, key=lambda r: r["id"])])


def with_ids(spark: Any, data: pd.DataFrame) -> Any:
    return spark.createDataFrame(data.reset_index(drop=True).assign(id=range(len(data))))


def test_mlflow_spark_udf_loads_a_shipyard_model(spark: Any, iris: pd.DataFrame, sklearn_dir: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mlflow's own deprecation notices on import
        import mlflow.pyfunc

        theirs = mlflow.pyfunc.spark_udf(spark, str(sklearn_dir), result_type="double", env_manager="local")
    assert mlflow.pyfunc.load_model(str(sklearn_dir)).loader_module == "shipyard.flavors.sklearn"
    expected = np.asarray(shipyard.pyfunc.load_model(sklearn_dir).predict(iris[FEATURES]), dtype=float)
    frame = with_ids(spark, iris[FEATURES])
    np.testing.assert_array_equal(scored(frame, theirs(*FEATURES)), expected)


def test_shipyard_spark_udf_scores_an_mlflow_model(spark: Any, iris: pd.DataFrame, tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import mlflow.pyfunc
        import mlflow.sklearn
        from mlflow.models import infer_signature

        model = LogisticRegression(C=0.3, max_iter=500).fit(iris[FEATURES], iris["label"])
        path = tmp_path / "mlflow-model"
        mlflow.sklearn.save_model(model, path, signature=infer_signature(iris[FEATURES], model.predict(iris[FEATURES])))
        expected = mlflow.pyfunc.load_model(str(path)).predict(iris[FEATURES])
    ours = shipyard.pyfunc.spark_udf(spark, path)
    got = scored(with_ids(spark, iris[FEATURES]), ours())
    np.testing.assert_array_equal(got, np.asarray(expected))
