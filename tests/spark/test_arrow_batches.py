"""The arrow_udf path: a batch reaches the model exactly as pyspark's pandas conversion would
hand it over (values, dtypes, nulls), and the path is taken only where that holds."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from pyspark.util import PythonEvalType

import shipyard.pyfunc
from shipyard.flavors.signature import ColSpec, ModelSignature, Schema, TensorSpec
from shipyard.spark.arrow_batches import arrow_frame, arrow_ready, to_arrow_result
from tests.spark.conftest import PANDAS_3_WARNING, save_code_model

pytestmark = pytest.mark.filterwarnings(PANDAS_3_WARNING)

DESCRIBE_SOURCE = '''
import pandas as pd

from shipyard.pyfunc import PythonModel


class Describe(PythonModel):
    """Each row as the model saw it: column, dtype, Python type and value of every cell."""

    def predict(self, context, model_input, params=None):
        dtypes = {c: str(model_input[c].dtype) for c in model_input.columns}
        return pd.Series(
            ["; ".join(f"{c}<{dtypes[c]}>={type(v).__name__}:{v!r}" for c, v in row.items())
             for _, row in model_input.iterrows()]
        )
'''

COLUMNS = [
    ColSpec("long", "a", required=False),
    ColSpec("boolean", "b", required=False),
    ColSpec("string", "c", required=False),
    ColSpec("double", "d", required=False),
    ColSpec("integer", "e"),
]


@pytest.fixture(scope="module")
def describe_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_code_model(
        tmp_path_factory.mktemp("spark-describe"),
        "spark_describe",
        DESCRIBE_SOURCE,
        "Describe",
        signature=ModelSignature(inputs=Schema(COLUMNS), outputs=Schema([ColSpec("string")])),
    )


def test_the_model_sees_what_the_pandas_path_hands_it(spark: Any, describe_dir: Path) -> None:
    from pyspark.sql.functions import pandas_udf
    from pyspark.sql.types import StringType

    from shipyard.spark import udf as udf_module

    rows = [(1, True, "x", 0.5, 7), (0, None, None, None, 8), (2**40, False, "", float("nan"), -3)]
    frame = spark.createDataFrame(rows, "a long, b boolean, c string, d double, e int").repartition(2)
    arrow_udf = shipyard.pyfunc.spark_udf(spark, describe_dir, result_type="string")
    assert arrow_udf.spark_function.evalType == PythonEvalType.SQL_SCALAR_ARROW_ITER_UDF
    function = udf_module._batch_function(arrow_udf.shipment, StringType(), None)
    pandas_path = udf_module.ModelUdf(pandas_udf(function, StringType()), arrow_udf.input_names, arrow_udf.shipment)
    scored = frame.select("e", arrow_udf().alias("arrow"), pandas_path().alias("pandas")).collect()
    assert len(scored) == 3
    for row in scored:
        assert row["arrow"] == row["pandas"], row["e"]
    described = {row["e"]: row["arrow"] for row in scored}
    assert "b<boolean>=NAType:<NA>" in described[8] and "d<float64>=float:nan" in described[8]
    assert f"a<int64>=int:{2**40}" in described[-3]


def test_arrow_frame_flattens_a_struct_of_one_struct_and_keeps_numpy_columns() -> None:
    inner = pa.StructArray.from_arrays(
        [pa.array([1.0, 2.0]), pa.array([[1.0, 2.0], [3.0, 4.0]], type=pa.list_(pa.float32()))], names=["x", "v"]
    )
    frame = arrow_frame(pa.StructArray.from_arrays([inner], names=["s"]))
    assert list(frame.columns) == ["x", "v"]
    assert frame["x"].dtype == np.float64
    assert isinstance(frame["v"].iloc[1], np.ndarray) and frame["v"].iloc[1].tolist() == [3.0, 4.0]
    dates = arrow_frame(pa.StructArray.from_arrays([pa.array([datetime.date(2026, 1, 1)])], names=["day"]))
    assert str(dates["day"].iloc[0]).startswith("2026-01-01")  # another type: pyarrow's pandas conversion


def test_results_go_back_as_the_asked_arrow_type() -> None:
    from pyspark.sql.types import ArrayType, DoubleType, LongType, StringType, StructField, StructType

    assert to_arrow_result(pd.Series(np.array([1, 2])), LongType()).type == pa.int64()
    assert to_arrow_result(pd.Series(np.array(["a", None], dtype=object)), StringType()).to_pylist() == ["a", None]
    arrays = to_arrow_result(pd.Series([np.array([1.0]), np.array([2.0, 3.0])]), ArrayType(DoubleType()))
    assert arrays.to_pylist() == [[1.0], [2.0, 3.0]]
    kind = StructType([StructField("p", DoubleType()), StructField("n", LongType())])
    struct = to_arrow_result(pd.DataFrame({"p": [0.5], "n": [3]}), kind)
    assert struct.type == pa.struct([("p", pa.float64()), ("n", pa.int64())])
    assert struct.to_pylist() == [{"p": 0.5, "n": 3}]


@pytest.mark.parametrize(
    ("signature", "ready"),
    [
        (None, False),
        (ModelSignature(inputs=Schema(COLUMNS)), True),
        (ModelSignature(inputs=Schema([ColSpec("datetime", "t")])), False),
        (ModelSignature(inputs=Schema([ColSpec("binary", "b")])), False),
        (ModelSignature(inputs=Schema([TensorSpec(np.dtype("float32"), (-1, 4))])), True),
        (ModelSignature(inputs=Schema([TensorSpec(np.dtype("str"), (-1,))])), False),
    ],
)
def test_only_signatures_numpy_can_carry_take_the_arrow_path(signature: ModelSignature | None, ready: bool) -> None:
    assert arrow_ready(signature) is ready


def test_a_model_without_a_signature_is_scored_through_the_pandas_path(
    spark: Any, iris: pd.DataFrame, tmp_path: Path
) -> None:
    from sklearn.linear_model import LogisticRegression

    import shipyard.sklearn
    from tests.spark.conftest import FEATURES

    model = LogisticRegression(max_iter=500).fit(iris[FEATURES], iris["label"])
    shipyard.sklearn.save_model(model, tmp_path / "model")
    udf = shipyard.pyfunc.spark_udf(spark, tmp_path / "model", result_type="long")
    assert udf.spark_function.evalType == PythonEvalType.SQL_SCALAR_PANDAS_ITER_UDF
    scored = spark.createDataFrame(iris).select(udf(*FEATURES).alias("p")).collect()
    assert sorted(r["p"] for r in scored) == sorted(model.predict(iris[FEATURES]).tolist())
