"""`result_type` parsing and inference, and shaping predictions into it (no Spark job needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyspark.sql.types import ArrayType, DoubleType, FloatType, LongType, StringType, StructField, StructType

from shipyard.exceptions import InvalidInput
from shipyard.spark.outputs import to_spark_result
from shipyard.spark.result_types import infer_result_type, parse_result_type
from shipyard.types import ColSpec, Schema, TensorSpec


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("double", DoubleType()),
        ("BIGINT", LongType()),
        ("array<float>", ArrayType(FloatType())),
        (
            "struct<a:double, b:array<long>>",
            StructType([StructField("a", DoubleType()), StructField("b", ArrayType(LongType()))]),
        ),
    ],
)
def test_parse(text: str, expected: object) -> None:
    assert parse_result_type(text) == expected


@pytest.mark.parametrize(
    ("given", "match"),
    [
        ("decimal", "'decimal' is not supported"),
        ("array<struct<a:double>>", "array elements must be scalars"),
        ("struct<s:struct<a:double>>", "nested structs are not supported"),
        (ArrayType(ArrayType(DoubleType())), "'array<array<double>>' is not supported"),
        (3, "must be a string or a pyspark DataType"),
    ],
)
def test_unsupported_result_types_name_the_allowed_forms(given: object, match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        parse_result_type(given)  # type: ignore[arg-type]


def test_inferred_from_the_output_schema() -> None:
    assert infer_result_type(None) == DoubleType()
    assert infer_result_type(Schema([ColSpec("long", "label")])) == LongType()
    assert infer_result_type(Schema([TensorSpec(np.dtype("float32"), (-1, 3))])) == ArrayType(FloatType())
    both = infer_result_type(Schema([ColSpec("double", "score"), ColSpec("string", "label")]))
    assert both == StructType([StructField("score", DoubleType()), StructField("label", StringType())])
    with pytest.raises(InvalidInput, match="2 unnamed outputs"):
        infer_result_type(Schema([TensorSpec(np.dtype("float32"), (-1,)), TensorSpec(np.dtype("float32"), (-1,))]))


def test_predictions_take_the_asked_shape() -> None:
    column = to_spark_result(np.array([[1.5], [2.5]]), LongType(), 2)
    assert column.tolist() == [1, 2] and column.dtype == np.int64
    arrays = to_spark_result(np.arange(6).reshape(2, 3), ArrayType(DoubleType()), 2)
    assert [list(a) for a in arrays] == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    kind = StructType([StructField("b", StringType()), StructField("a", DoubleType())])
    frame = to_spark_result(pd.DataFrame({"a": [1, 2], "b": [3, 4], "c": [0, 0]}), kind, 2)
    assert list(frame.columns) == ["b", "a"] and frame["b"].tolist() == ["3", "4"]


@pytest.mark.parametrize(
    ("prediction", "kind", "match"),
    [
        (np.zeros((3, 2)), DoubleType(), r"shape \(3, 2\), more than one value per row"),
        (np.zeros(2), DoubleType(), "has 2 rows for a batch of 3"),
        (np.zeros(3), StructType([StructField("a", DoubleType())]), "needs named outputs"),
        (pd.DataFrame({"b": [1, 2, 3]}), StructType([StructField("a", DoubleType())]), r"outputs \['a'\]"),
    ],
)
def test_predictions_that_do_not_fit_say_why(prediction: object, kind: object, match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        to_spark_result(prediction, kind, 3)  # type: ignore[arg-type]
