"""`shipyard.pyfunc.spark_udf` on a real local Spark: the predictions equal in-process pyfunc's."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import shipyard
import shipyard.pyfunc
import shipyard.sklearn
from shipyard.exceptions import InvalidInput
from tests.spark.conftest import FEATURES, PANDAS_3_WARNING, onnx_affine

pytestmark = pytest.mark.filterwarnings(PANDAS_3_WARNING)


def collected(frame: Any) -> pd.DataFrame:
    """A Spark DataFrame's rows (structs as dicts), without toPandas' Arrow path and its warnings."""
    return pd.DataFrame([row.asDict(recursive=True) for row in frame.collect()])


def test_sklearn_every_call_form_predicts_what_pyfunc_predicts(
    spark: Any, iris: pd.DataFrame, sklearn_dir: Path
) -> None:
    from pyspark.sql import functions as F

    expected = shipyard.pyfunc.load_model(sklearn_dir).predict(iris[FEATURES])
    udf = shipyard.pyfunc.spark_udf(spark, sklearn_dir, result_type="long")
    frame = spark.createDataFrame(iris).repartition(3)
    scored = collected(
        frame.select(
            "sepal_length",
            "sepal_width",
            udf().alias("no_args"),
            udf(*FEATURES).alias("names"),
            udf(F.struct(*[F.col(c) for c in FEATURES])).alias("struct"),
            udf(*[F.col(c) for c in reversed(FEATURES)]).alias("columns_by_name"),
        )
    )
    order = iris.reset_index().merge(scored, on=["sepal_length", "sepal_width"], how="inner")
    assert len(scored) == len(iris)
    for form in ("no_args", "names", "struct", "columns_by_name"):
        assert scored[form].dtype == np.int64
        # rows come back in another order: compare as multisets per feature pair, and in total
        assert sorted(scored[form]) == sorted(expected), form
    assert (order["no_args"] == order["names"]).all()


def test_onnx_array_column_and_scalar_columns(spark: Any, onnx_dir: Path) -> None:
    from pyspark.sql import functions as F

    _, w, b = onnx_affine()
    x = np.random.default_rng(1).normal(size=(40, 4)).astype(np.float32)
    in_process = shipyard.pyfunc.load_model(onnx_dir).predict(x)
    expected = in_process["y"] if isinstance(in_process, dict) else in_process
    np.testing.assert_allclose(np.asarray(expected), x @ w + b, rtol=1e-5)
    rows = pd.DataFrame({"id": range(len(x)), "x": list(x.astype(float))})
    frame = spark.createDataFrame(rows).withColumn("x", F.col("x").cast("array<float>"))
    udf = shipyard.pyfunc.spark_udf(spark, onnx_dir, result_type="array<float>")
    scored = collected(frame.select("id", udf("x").alias("y"))).sort_values("id")
    np.testing.assert_allclose(np.stack(scored["y"].to_list()), np.asarray(expected), rtol=1e-6)


def test_python_model_struct_of_named_outputs_params_and_batch_size(
    spark: Any, python_model_dir: Path, tmp_path: Path
) -> None:
    """The model sees Arrow batches of at most maxRecordsPerBatch rows, and is loaded at most
    once per Python worker (Spark may start a fresh worker for a task), never once per batch."""
    log = tmp_path / "loads.txt"
    data = pd.DataFrame({"x": np.arange(1000, dtype=float)})
    in_process = shipyard.pyfunc.load_model(python_model_dir, model_config={"load_log": str(tmp_path / "x")})
    expected = in_process.predict(data, params={"scale": 3.0})
    udf = shipyard.pyfunc.spark_udf(spark, python_model_dir, params={"scale": 3.0}, model_config={"load_log": str(log)})
    previous = spark.conf.get("spark.sql.execution.arrow.maxRecordsPerBatch")
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "64")
    try:
        scored = collected(spark.createDataFrame(data).repartition(2).select("x", udf().alias("out")))
    finally:
        spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", previous)
    out = pd.DataFrame(scored["out"].to_list()).assign(x=scored["x"]).sort_values("x")
    np.testing.assert_allclose(out["doubled"].to_numpy(), expected["doubled"].to_numpy())
    assert out["rows"].max() <= 64 and out["rows"].min() >= 1
    loads = log.read_text().split()
    # 1000 rows in batches of <= 64 are at least 16 batches, in 2 tasks
    assert 1 <= len(loads) <= 2, f"2 tasks of 500 rows loaded the model {len(loads)} times"
    assert len(set(loads)) == len(loads), f"a worker loaded the model twice: {loads}"


def test_registered_version_is_resolved_once_on_the_driver(
    spark: Any, iris: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sklearn.tree import DecisionTreeClassifier

    monkeypatch.chdir(tmp_path)
    shipyard.set_tracking_uri(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        model = DecisionTreeClassifier(random_state=0).fit(iris[FEATURES], iris["label"])
        with shipyard.start_run():
            shipyard.sklearn.log_model(
                model, name="model", input_example=iris[FEATURES].head(2), registered_model_name="iris-tree"
            )
        udf = shipyard.pyfunc.spark_udf(spark, "models:/iris-tree/1", result_type="double")
        expected = shipyard.pyfunc.load_model("models:/iris-tree/1").predict(iris[FEATURES])
    finally:
        shipyard.set_tracking_uri(None)
    scored = collected(spark.createDataFrame(iris).select(udf().alias("p")))
    assert sorted(scored["p"]) == sorted(np.asarray(expected, dtype=float))


def test_a_batch_that_fails_enforcement_names_the_column(spark: Any, iris: pd.DataFrame, sklearn_dir: Path) -> None:
    from pyspark.sql import functions as F

    udf = shipyard.pyfunc.spark_udf(spark, sklearn_dir)
    frame = spark.createDataFrame(iris.head(10)).withColumn("petal_width", F.lit("wide"))
    with pytest.raises(Exception) as caught:
        frame.select(udf()).collect()
    message = str(caught.value)
    assert "column 'petal_width'" in message and "'wide'" in message
    assert re.search(r"in a spark_udf batch of \d+ rows with columns \['sepal_length'", message)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"env_manager": "conda"}, "env_manager 'conda' is not supported"),
        ({"result_type": "map<string,double>"}, "result_type 'map<string,double>' is not supported"),
        ({"result_type": "struct<a>"}, "struct field 'a' is not name:type"),
        ({"model_config": "config.yaml"}, "model_config must be a dict"),
        ({"extra_env": {"A": "1"}}, "parameter 'extra_env' is not supported"),
    ],
)
def test_bad_arguments_fail_on_the_driver(spark: Any, sklearn_dir: Path, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        shipyard.pyfunc.spark_udf(spark, sklearn_dir, **kwargs)


def test_unknown_params_and_missing_model_fail_on_the_driver(
    spark: Any, python_model_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(InvalidInput, match="scale"):
        shipyard.pyfunc.spark_udf(spark, python_model_dir, params={"scale": "big"})
    with pytest.raises(shipyard.exceptions.ShipyardError, match="nothing-here"):
        shipyard.pyfunc.spark_udf(spark, tmp_path / "nothing-here")


def test_import_pyfunc_does_not_import_pyspark() -> None:
    import subprocess
    import sys

    code = "import sys, shipyard.pyfunc; assert 'pyspark' not in sys.modules; print(shipyard.pyfunc.spark_udf.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "spark_udf"
