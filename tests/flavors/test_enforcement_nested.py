"""`Array`, `Object`, `Map` and `AnyType` columns: the MLmodel JSON round-trips with mlflow's, and
values are enforced by MLflow's rules (the same model directory loaded by mlflow and by Shipyard
takes and refuses the same inputs)."""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shipyard.exceptions import ModelLoadError, SchemaEnforcementError
from shipyard.flavors.nested import enforce_value
from shipyard.flavors.pyfunc import load_model
from shipyard.flavors.schema_types import AnyType, Array, Map, Object, Property
from shipyard.flavors.signature import ColSpec, ModelSignature, ParamSchema, ParamSpec, Schema


def mlflow_nested_schema() -> Any:
    from mlflow.types.schema import AnyType as MAny
    from mlflow.types.schema import Array as MArray
    from mlflow.types.schema import ColSpec as MCol
    from mlflow.types.schema import Map as MMap
    from mlflow.types.schema import Object as MObject
    from mlflow.types.schema import Property as MProp
    from mlflow.types.schema import Schema as MSchema

    message = MObject([MProp("role", "string"), MProp("content", "string", required=False)])
    return MSchema(
        [
            MCol(MArray(message), "messages"),
            MCol(MMap(MArray("double")), "weights", required=False),
            MCol(MAny(), "extra", required=False),
            MCol(MArray(MArray("long")), "grid", required=False),
            MCol("long", "n", required=False),
        ]
    )


def shipyard_nested_schema() -> Schema:
    message = Object([Property("role", "string"), Property("content", "string", required=False)])
    return Schema(
        [
            ColSpec(Array(message), "messages"),
            ColSpec(Map(Array("double")), "weights", required=False),
            ColSpec(AnyType(), "extra", required=False),
            ColSpec(Array(Array("long")), "grid", required=False),
            ColSpec("long", "n", required=False),
        ]
    )


def test_nested_schema_json_is_mlflows_both_ways() -> None:
    theirs = mlflow_nested_schema().to_json()
    ours = shipyard_nested_schema()
    assert ours.to_json() == theirs
    assert Schema.from_json(theirs) == ours
    from mlflow.types.schema import Schema as MSchema

    assert MSchema.from_json(ours.to_json()) == mlflow_nested_schema()


def test_shipyard_saved_nested_signature_reads_in_mlflow(tmp_path: Path) -> None:
    from mlflow.models import Model as MlflowModel

    from shipyard.flavors.python_model import PythonModel, save_model

    class Doubler(PythonModel):
        def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
            return [len(m) for m in model_input["messages"]]

    signature = ModelSignature(shipyard_nested_schema(), params=ParamSchema([ParamSpec("temperature", "double", 0.5)]))
    save_model(tmp_path / "m", Doubler(), signature=signature)
    loaded = MlflowModel.load(str(tmp_path / "m")).signature
    assert loaded is not None and loaded.inputs == mlflow_nested_schema()
    prediction = load_model(tmp_path / "m").predict({"messages": [{"role": "user"}, {"role": "bot", "content": "x"}]})
    assert prediction == [2]


def test_unsupported_nested_json_is_a_load_error_naming_the_column() -> None:
    with pytest.raises(ModelLoadError, match="'v'.*sparkml_vector"):
        Schema.from_json(json.dumps([{"type": "sparkml_vector", "name": "v"}]))
    with pytest.raises(ModelLoadError, match="'a'.items"):
        Schema.from_json(json.dumps([{"type": "array", "name": "a"}]))
    with pytest.raises(ModelLoadError, match="non-empty 'properties'"):
        Schema.from_json(json.dumps([{"type": "object", "name": "o", "properties": {}}]))


@pytest.fixture(scope="module")
def echo_dir(tmp_path_factory: pytest.TempPathFactory, mlflow_echo_model: Any) -> Path:
    """An MLflow-saved python model with the nested signature and a params schema."""
    from mlflow.models import ModelSignature as MSignature
    from mlflow.types.schema import ParamSchema as MParams
    from mlflow.types.schema import ParamSpec as MParam

    signature = MSignature(mlflow_nested_schema(), params=MParams([MParam("temperature", "double", 0.7)]))
    return mlflow_echo_model(tmp_path_factory.mktemp("nested") / "model", signature)


@contextlib.contextmanager
def quiet_mlflow() -> Iterator[None]:
    """NOTE: mlflow warns from inside itself (type hints, pickling); not ours to fix, so its
    warnings are silenced only around its own calls."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _row(**values: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": "hi"}], **values}


GOOD = [
    pytest.param(_row(), id="one-record"),
    pytest.param([_row(n=2), _row(n=3)], id="records"),
    pytest.param(pd.DataFrame([_row(weights={"a": [1, 2.5]})]), id="frame-map-of-arrays"),
    pytest.param(_row(extra={"anything": [None, 1]}), id="any"),
    pytest.param(_row(grid=[[1, 2], [3]]), id="array-of-arrays"),
    pytest.param({"messages": [{"role": "user"}]}, id="optional-property-absent"),
    pytest.param({"messages": [{"role": "user", "content": None}]}, id="optional-property-null"),
    pytest.param(_row(weights={}), id="optional-empty-map"),
    pytest.param(_row(grid=[]), id="optional-empty-array"),
]
BAD = [
    pytest.param({"messages": "hello"}, "column 'messages' row 0: expected a list", id="not-a-list"),
    pytest.param({"messages": [{"content": "x"}]}, "missing required properties ['role']", id="missing-property"),
    pytest.param({"messages": [{"role": "u", "mood": 1}]}, "properties ['mood'] are not in the schema", id="unknown"),
    pytest.param({"messages": [{"role": 3}]}, "messages' row 0[0].role: expected string", id="wrong-scalar"),
    pytest.param(_row(weights={"a": ["x"]}), "weights' row 0['a'] items: expected double", id="map-value"),
    pytest.param(_row(grid=[[1.5]]), "grid' row 0[0] items", id="non-integral"),
    pytest.param({"weights": {"a": [1.0]}}, "missing required column 'messages'", id="missing-column"),
]


@pytest.mark.parametrize("given", GOOD)
def test_inputs_mlflow_takes_shipyard_takes_alike(echo_dir: Path, given: Any) -> None:
    with quiet_mlflow():
        import mlflow.pyfunc

        theirs = mlflow.pyfunc.load_model(str(echo_dir)).predict(_copy(given))
        ours = load_model(echo_dir).predict(_copy(given))  # the pickle's class is mlflow's PythonModel
    assert ours == theirs


@pytest.mark.parametrize(("given", "message"), BAD)
def test_inputs_mlflow_refuses_shipyard_refuses_naming_the_path(echo_dir: Path, given: Any, message: str) -> None:
    with quiet_mlflow():
        import mlflow.pyfunc
    from mlflow.exceptions import MlflowException

    with quiet_mlflow(), pytest.raises(MlflowException):
        mlflow.pyfunc.load_model(str(echo_dir)).predict(_copy(given))
    with pytest.raises(SchemaEnforcementError) as info:
        load_model(echo_dir).predict(_copy(given))
    assert message in info.value.message


@pytest.mark.parametrize(
    ("given", "column", "expected"),
    [
        pytest.param(_row(weights={"a": [1, 2]}), "weights", {"a": [1.0, 2.0]}, id="json-ints-into-doubles"),
        pytest.param([_row(), _row(n=3)], "n", [None, 3], id="null-in-optional-long"),
    ],
)
def test_where_shipyard_is_deliberately_looser(echo_dir: Path, given: Any, column: str, expected: Any) -> None:
    """docs/signatures.md: JSON numbers have no width, so whole numbers fill a double and an
    optional integer column keeps its nulls; mlflow refuses both (int64 -> float64 "unsafe")."""
    with quiet_mlflow():
        import mlflow.pyfunc
    from mlflow.exceptions import MlflowException

    with quiet_mlflow(), pytest.raises(MlflowException):
        mlflow.pyfunc.load_model(str(echo_dir)).predict(_copy(given))
    got = [json.loads(row)["row"].get(column) for row in load_model(echo_dir).predict(_copy(given))]
    assert (got if isinstance(expected, list) else got[0]) == expected


def _copy(given: Any) -> Any:
    """NOTE: mlflow's _enforce_object writes the enforced values back into the caller's dicts."""
    if isinstance(given, pd.DataFrame):
        return pd.DataFrame(json.loads(given.to_json(orient="records")))
    return json.loads(json.dumps(given))


def test_value_rules() -> None:
    assert enforce_value([1, None], Array("long"), False, "c") == [1, None]
    assert enforce_value(None, Array("long"), False, "c") is None
    assert enforce_value([], Array(AnyType()), True, "c") == []
    assert enforce_value(None, AnyType(), True, "c") is None
    as_array = enforce_value(np.array([1, 2]), Array("double"), True, "c")
    assert isinstance(as_array, np.ndarray) and as_array.dtype == np.float64
    stamps = enforce_value(["2024-01-02T03:04:05"], Array("datetime"), True, "c")
    assert stamps == [pd.Timestamp("2024-01-02T03:04:05")]
    with pytest.raises(SchemaEnforcementError, match="c: map keys must be strings"):
        enforce_value({1: 2.0}, Map("double"), True, "c")
    with pytest.raises(SchemaEnforcementError, match="required"):
        enforce_value([1, None], Array("long"), True, "c")
    with pytest.raises(SchemaEnforcementError, match="expected an object"):
        enforce_value(None, Object([Property("a", "long")]), True, "c")
    assert enforce_value(None, Object([Property("a", "long")]), False, "c") is None
