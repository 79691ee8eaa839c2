"""Signature enforcement, case by case: what is accepted as is, converted, or rejected.

Every rejection must name the column, tensor or param at fault. docs/signatures.md states the
same rules in prose.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shipyard import ColSpec, ParamSchema, ParamSpec, Schema, TensorSpec
from shipyard.exceptions import SchemaEnforcementError
from shipyard.flavors.enforcement import ColumnPlan, enforce_params, make_input_plan

TABLE = Schema([ColSpec("long", "a"), ColSpec("double", "b"), ColSpec("string", "s", required=False)])
ONE = {
    t: Schema([ColSpec(t, "c")])
    for t in ("boolean", "integer", "long", "float", "double", "string", "binary", "datetime")
}
OPT_LONG = Schema([ColSpec("long", "n", required=False)])
TENSOR = Schema([TensorSpec(np.dtype("float32"), (-1, 4), "x")])
TENSOR_I = Schema([TensorSpec(np.dtype("int64"), (-1,), "ids")])
TWO = Schema([TensorSpec(np.dtype("float32"), (-1, 2), "x"), TensorSpec(np.dtype("int64"), (-1,), "k")])


def frame(**cols: Any) -> pd.DataFrame:
    return pd.DataFrame(cols)


def col(result: pd.DataFrame, name: str) -> Any:
    return result[name]


Check = Callable[[Any], bool]


def dtype_is(name: str, dtype: Any) -> Check:
    return lambda out: (
        out[name].dtype == np.dtype(dtype) if isinstance(out, (pd.DataFrame, dict)) else out.dtype == np.dtype(dtype)
    )


# (id, schema, data, expected: "accept" | "convert" | "reject", check or field named in the error)
CASES: list[tuple[str, Schema, Any, str, Any]] = [
    ("exact frame", TABLE, frame(a=[1, 2], b=[0.5, 1.5], s=["x", "y"]), "accept", dtype_is("a", "int64")),
    ("int32 -> long", TABLE, frame(a=np.array([1, 2], "int32"), b=[0.5, 1.5]), "convert", dtype_is("a", "int64")),
    ("long -> double", TABLE, frame(a=[1, 2], b=[1, 2]), "convert", dtype_is("b", "float64")),
    ("float32 -> double", TABLE, frame(a=[1], b=np.array([0.5], "float32")), "convert", dtype_is("b", "float64")),
    ("float -> long refused", TABLE, frame(a=[1.5, 2.0], b=[0.5, 1.5]), "reject", "'a'"),
    ("string -> double refused", TABLE, frame(a=[1], b=["0.5"]), "reject", "'b'"),
    ("missing required", TABLE, frame(b=[0.5]), "reject", "'a'"),
    ("missing optional", TABLE, frame(a=[1], b=[0.5]), "accept", lambda out: list(out.columns) == ["a", "b"]),
    ("extra column dropped", TABLE, frame(a=[1], b=[0.5], z=[9]), "accept", lambda out: "z" not in out.columns),
    ("int -> string refused", TABLE, frame(a=[1], b=[0.5], s=[3]), "reject", "'s'"),
    (
        "optional null kept",
        TABLE,
        frame(a=[1, 2], b=[0.5, 1.0], s=["x", None]),
        "accept",
        lambda out: out["s"].isna().sum() == 1,
    ),
    (
        "required double keeps NaN (as MLflow)",
        TABLE,
        frame(a=[1, 2], b=[0.5, np.nan]),
        "accept",
        lambda out: out["b"].isna().sum() == 1,
    ),
    ("required long, JSON null refused", TABLE, [{"a": None, "b": 1.0}], "reject", "'a'"),
    ("required string, null refused", ONE["string"], {"c": ["x", None]}, "reject", "'c'"),
    ("whole floats with NaN -> long: hint", OPT_LONG, frame(n=[1.0, np.nan]), "reject", "Int64"),
    (
        "nullable Int64 -> long",
        TABLE,
        frame(a=pd.array([1, 2], dtype="Int64"), b=[0.5, 1.0]),
        "convert",
        dtype_is("a", "int64"),
    ),
    ("Int64 with NA, required", TABLE, frame(a=pd.array([1, None], dtype="Int64"), b=[0.5, 1.0]), "reject", "'a'"),
    (
        "Int64 with NA, optional",
        OPT_LONG,
        frame(n=pd.array([1, None], dtype="Int64")),
        "convert",
        lambda out: out["n"].isna().tolist() == [False, True],
    ),
    (
        "optional long from JSON nulls",
        OPT_LONG,
        [{"n": 1}, {"n": None}],
        "convert",
        lambda out: str(out["n"].dtype) == "Int64",
    ),
    ("optional long, float given", OPT_LONG, frame(n=[1.5, None]), "reject", "'n'"),
    (
        "records: JSON ints -> double",
        TABLE,
        [{"a": 1, "b": 2}, {"a": 3, "b": 4.5}],
        "convert",
        dtype_is("b", "float64"),
    ),
    ("records: 1.5 -> long refused", TABLE, [{"a": 1.5, "b": 2}], "reject", "'a'"),
    ("records: 2.0 -> long parsed", TABLE, [{"a": 2.0, "b": 2}], "convert", dtype_is("a", "int64")),
    ("records: missing required key", TABLE, [{"b": 2}], "reject", "'a'"),
    ("dict of lists", TABLE, {"a": [1, 2], "b": [0.1, 0.2]}, "convert", dtype_is("a", "int64")),
    ("dict of arrays, float -> long refused", TABLE, {"a": np.array([0.5]), "b": np.array([0.1])}, "reject", "'a'"),
    ("list of rows positional", TABLE, [[1, 0.5, "x"], [2, 1.5, "y"]], "convert", dtype_is("b", "float64")),
    ("row width wrong", TABLE, [[1, 0.5]], "reject", "'a'"),
    ("bool column", ONE["boolean"], frame(c=[True, False]), "accept", dtype_is("c", "bool")),
    ("int -> boolean refused", ONE["boolean"], frame(c=[1, 0]), "reject", "'c'"),
    ("bool -> long refused", ONE["long"], frame(c=[True, False]), "reject", "'c'"),
    ("long -> integer refused (typed)", ONE["integer"], frame(c=np.array([1], "int64")), "reject", "'c'"),
    ("JSON int -> integer in range", ONE["integer"], {"c": [1, 2]}, "convert", dtype_is("c", "int32")),
    ("JSON int -> integer out of range", ONE["integer"], {"c": [2**40]}, "reject", "'c'"),
    ("double -> float refused (typed)", ONE["float"], frame(c=np.array([0.1], "float64")), "reject", "'c'"),
    ("JSON number -> float", ONE["float"], {"c": [0.1, 2]}, "convert", dtype_is("c", "float32")),
    (
        "text -> datetime",
        ONE["datetime"],
        {"c": ["2024-01-02", "2024-03-04T05:06:07"]},
        "convert",
        dtype_is("c", "datetime64[ns]"),
    ),
    ("bad text -> datetime refused", ONE["datetime"], {"c": ["not a date"]}, "reject", "'c'"),
    ("int -> datetime refused", ONE["datetime"], frame(c=[1, 2]), "reject", "'c'"),
    (
        "bytes -> binary",
        ONE["binary"],
        frame(c=[b"ab", b"c"]),
        "accept",
        lambda out: out["c"].tolist() == [b"ab", b"c"],
    ),
    (
        "base64 JSON -> binary",
        ONE["binary"],
        {"c": [base64.b64encode(b"hi").decode()]},
        "convert",
        lambda out: out["c"].tolist() == [b"hi"],
    ),
    ("bad base64 -> binary refused", ONE["binary"], {"c": ["***"]}, "reject", "'c'"),
    (
        "pandas string dtype -> string",
        ONE["string"],
        frame(c=pd.array(["a", "b"], dtype="string")),
        "accept",
        lambda out: out["c"].tolist() == ["a", "b"],
    ),
    ("tensor exact", TENSOR, np.zeros((2, 4), "float32"), "accept", dtype_is("x", "float32")),
    ("tensor float64 -> float32 refused", TENSOR, np.zeros((2, 4)), "reject", "'x'"),
    ("tensor int8 -> float32 (safe)", TENSOR, np.zeros((2, 4), "int8"), "convert", dtype_is("x", "float32")),
    ("tensor JSON numbers -> float32", TENSOR, [[1, 2.5, 3, 4]], "convert", dtype_is("x", "float32")),
    ("tensor wrong width", TENSOR, np.zeros((2, 3), "float32"), "reject", "'x'"),
    ("tensor wrong rank", TENSOR, np.zeros((4,), "float32"), "reject", "'x'"),
    ("tensor bool -> float refused", TENSOR, np.zeros((1, 4), bool), "reject", "'x'"),
    ("tensor JSON 1.5 -> int64 refused", TENSOR_I, [1.5, 2], "reject", "'ids'"),
    ("tensor JSON 2.0 -> int64 parsed", TENSOR_I, [2.0, 3], "convert", dtype_is("ids", "int64")),
    (
        "tensor from DataFrame",
        TENSOR,
        frame(p=[1.0], q=[2.0], r=[3.0], s=[4.0]).astype("float32"),
        "accept",
        dtype_is("x", "float32"),
    ),
    ("named tensors dict of lists", TWO, {"x": [[1, 2]], "k": [3]}, "convert", dtype_is("k", "int64")),
    ("named tensor missing", TWO, {"x": np.zeros((1, 2), "float32")}, "reject", "'k'"),
    ("named tensor bad dtype", TWO, {"x": np.zeros((1, 2), "float32"), "k": np.array([0.5])}, "reject", "'k'"),
]


@pytest.mark.parametrize(("schema", "data", "expected", "check"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_enforcement_case(schema: Schema, data: Any, expected: str, check: Any) -> None:
    plan = make_input_plan(schema, needs_names=True)
    if expected == "reject":
        with pytest.raises(SchemaEnforcementError) as info:
            plan.prepare(data)
        assert check in str(info.value), f"message does not name {check}: {info.value}"
        return
    out = plan.prepare(data)
    if expected == "accept" and isinstance(data, np.ndarray) and schema.is_tensor_spec():
        assert out is data or out["x"] is data  # no copy for already-right arrays
    if isinstance(plan, ColumnPlan):  # what the model receives: a block becomes a DataFrame
        out = plan.to_frame(out)
    wrapped = (
        {"x": out}
        if isinstance(out, np.ndarray) and schema is TENSOR
        else ({"ids": out} if isinstance(out, np.ndarray) else out)
    )
    assert check(wrapped), f"unexpected result: {out!r}"


def test_table_has_at_least_30_cases_of_each_outcome_mix() -> None:
    kinds = [c[3] for c in CASES]
    assert len(CASES) >= 30 and {"accept", "convert", "reject"} <= set(kinds)


@pytest.mark.parametrize(
    "form",
    [
        frame(a=[1.5], b=[0.5]),
        {"a": [1.5], "b": [0.5]},
        {"a": np.array([1.5]), "b": np.array([0.5])},
        [{"a": 1.5, "b": 0.5}],
        [[1.5, 0.5, "x"]],
    ],
    ids=["frame", "dict-lists", "dict-arrays", "records", "rows"],
)
def test_same_rule_for_every_input_form(form: Any) -> None:
    with pytest.raises(SchemaEnforcementError, match="'a'"):
        make_input_plan(TABLE).prepare(form)


def test_array_output_for_models_without_column_names() -> None:
    plan = make_input_plan(Schema([ColSpec("double", "p"), ColSpec("double", "q")]), needs_names=False)
    out = plan.prepare([{"p": 1, "q": 2.5}, {"p": 3, "q": 4}])
    assert isinstance(out, np.ndarray) and out.shape == (2, 2) and out.dtype == np.float64
    exact = np.zeros((3, 2))
    assert plan.prepare(exact) is exact


def test_one_dtype_columns_prepare_to_a_block_a_frame_once_per_call() -> None:
    schema = Schema([ColSpec("double", "p"), ColSpec("double", "q")])
    plan = make_input_plan(schema, needs_names=True)
    one = plan.prepare([{"p": 1, "q": 2.5}])
    two = plan.prepare(frame(q=[4.0, 6.0], p=[3.0, 5.0], z=["extra", "dropped"]))
    exact = np.zeros((3, 2))
    assert plan.prepare(exact) is exact
    for block in (one, two):
        assert isinstance(block, np.ndarray) and block.ndim == 2 and block.dtype == np.float64
    batch = plan.to_frame(np.concatenate([one, two], axis=0))
    assert list(batch.columns) == ["p", "q"] and batch.to_numpy().tolist() == [[1, 2.5], [3, 4], [5, 6]]
    # Mixed dtypes, or an optional column, keep a DataFrame per request (and to_frame leaves it).
    for mixed in (
        Schema([ColSpec("double", "p"), ColSpec("long", "n")]),
        Schema([ColSpec("double", "p"), ColSpec("double", "q", required=False)]),
    ):
        mplan = make_input_plan(mixed, needs_names=True)
        out = mplan.prepare([{"p": 1.0, "n": 2, "q": 3.0}])
        assert isinstance(out, pd.DataFrame) and mplan.to_frame(out) is out


PARAMS = ParamSchema(
    [ParamSpec("k", "long", 3), ParamSpec("t", "double", 0.5), ParamSpec("tags", "string", ["a"], (-1,))]
)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, {"k": 3, "t": 0.5, "tags": ["a"]}),
        ({"k": 5}, {"k": 5, "t": 0.5, "tags": ["a"]}),
        ({"t": 1}, {"k": 3, "t": 1.0, "tags": ["a"]}),
        ({"tags": ["x", "y"]}, {"k": 3, "t": 0.5, "tags": ["x", "y"]}),
    ],
)
def test_params_defaults_and_conversion(given: Any, expected: dict[str, Any]) -> None:
    assert enforce_params(PARAMS, given) == expected


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"k": "five"}, "'k'"),
        ({"k": 1.5}, "'k'"),
        ({"t": True}, "'t'"),
        ({"tags": "x"}, "'tags'"),
        ({"nope": 1}, "nope"),
    ],
)
def test_params_rejections_name_the_param(given: dict[str, Any], field: str) -> None:
    with pytest.raises(SchemaEnforcementError) as info:
        enforce_params(PARAMS, given)
    assert field in str(info.value)
