"""MLflow's `Model` and `PyFuncModel` accessors: `load_input_example(_params)`, the schema getters,
`unwrap_python_model`, and the deliberate refusal of unknown predict params. Each is checked
against the real mlflow reading or loading the same directory (mlflow is a test dependency)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import shipyard
from shipyard.exceptions import InvalidInput, InvalidState, MlflowException, ResourceNotFound, SchemaEnforcementError
from shipyard.models import Model
from shipyard.pyfunc import PythonModel


def mlflow_module() -> Any:
    """The real mlflow (its import warns about its own type hints: not ours to fix)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import mlflow
        import mlflow.models
        import mlflow.pyfunc

    return mlflow


def mlflow_example(path: Path) -> Any:
    mlflow = mlflow_module()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mlflow.models.Model.load(str(path)).load_input_example(str(path))


class Doubler(PythonModel):
    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> Any:
        return model_input * (params or {}).get("factor", 2)

    def describe(self) -> str:
        return "doubles its input"


def test_a_table_example_comes_back_as_mlflow_gives_it(tmp_path: Path) -> None:
    frame = pd.DataFrame({"count": np.array([1, 2], dtype="int64"), "ratio": np.array([0.5, 1.5], "float32")})
    signature = shipyard.infer_signature(frame, frame)
    path = tmp_path / "model"
    shipyard.pyfunc.save_model(str(path), python_model=Doubler(), signature=signature, input_example=frame)
    ours = Model.load(path).load_input_example(path)
    theirs = mlflow_example(path)
    assert isinstance(ours, pd.DataFrame)
    pd.testing.assert_frame_equal(ours, theirs)
    assert [str(d) for d in ours.dtypes] == ["int64", "float32"]
    assert (
        Model.load(path).saved_input_example_info
        == mlflow_module().models.Model.load(str(path)).saved_input_example_info
    )


def test_tensor_examples_keep_the_signature_dtype(tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression

    X = np.arange(8, dtype=np.float32).reshape(4, 2)
    path = tmp_path / "tensor"
    shipyard.sklearn.save_model(LinearRegression().fit(X, X[:, 0]), str(path), input_example=X[:2])
    ours = Model.load(path).load_input_example(str(path))
    theirs = mlflow_example(path)
    assert ours.dtype == theirs.dtype == np.float32
    np.testing.assert_array_equal(ours, theirs)


def test_example_params_and_file_uris(tmp_path: Path) -> None:
    frame = pd.DataFrame({"v": [1.0, 2.0]})
    path = tmp_path / "with-params"
    shipyard.pyfunc.save_model(str(path), python_model=Doubler(), input_example=(frame, {"factor": 3}))
    model = Model.load(path)
    assert model.load_input_example_params(str(path)) == {"factor": 3}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert mlflow_module().models.Model.load(str(path)).load_input_example_params(str(path)) == {"factor": 3}
    pd.testing.assert_frame_equal(model.load_input_example(path.as_uri()), frame)
    pd.testing.assert_frame_equal(model.load_input_example(path / "MLmodel"), frame)


def test_no_example_is_none_and_a_missing_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "bare"
    shipyard.pyfunc.save_model(str(path), python_model=Doubler())
    assert Model.load(path).load_input_example(path) is None
    assert Model.load(path).load_input_example_params(path) is None
    assert mlflow_example(path) is None

    shipyard.pyfunc.save_model(str(tmp_path / "gone"), python_model=Doubler(), input_example=pd.DataFrame({"v": [1]}))
    (tmp_path / "gone" / "input_example.json").unlink()
    with pytest.raises(ResourceNotFound, match=r"lists an input example, but .*input_example\.json does not exist"):
        Model.load(tmp_path / "gone").load_input_example(tmp_path / "gone")


def test_paths_the_flavors_cannot_resolve_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "model"
    shipyard.pyfunc.save_model(str(path), python_model=Doubler(), input_example=pd.DataFrame({"v": [1.0]}))
    model = Model.load(path)
    with pytest.raises(InvalidInput, match="needs the model directory's path"):
        model.load_input_example()
    with pytest.raises(InvalidInput, match="is a runs: URI; give the local model directory"):
        model.load_input_example("runs:/abc/model")


def test_schema_getters_match_mlflows(tmp_path: Path) -> None:
    frame = pd.DataFrame({"v": [1.0, 2.0]})
    path = tmp_path / "model"
    signature = shipyard.infer_signature(frame, frame, params={"factor": 2})
    shipyard.pyfunc.save_model(str(path), python_model=Doubler(), signature=signature)
    ours = shipyard.pyfunc.load_model(str(path)).metadata
    mlflow = mlflow_module()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = mlflow.pyfunc.load_model(str(path)).metadata
    assert ours.get_input_schema().to_dict() == theirs.get_input_schema().to_dict()
    assert ours.get_output_schema().to_dict() == theirs.get_output_schema().to_dict()
    assert ours.get_params_schema().to_dict() == theirs.get_params_schema().to_dict()

    bare = tmp_path / "bare"
    shipyard.pyfunc.save_model(str(bare), python_model=Doubler())
    metadata = shipyard.pyfunc.load_model(str(bare)).metadata
    assert (metadata.get_input_schema(), metadata.get_output_schema(), metadata.get_params_schema()) == (
        None,
        None,
        None,
    )


def test_unwrap_python_model_gives_the_users_object(tmp_path: Path, iris_lr_frame: Any) -> None:
    path = tmp_path / "python"
    shipyard.pyfunc.save_model(str(path), python_model=Doubler())
    unwrapped = shipyard.pyfunc.load_model(str(path)).unwrap_python_model()
    assert type(unwrapped).__name__ == "Doubler"
    assert unwrapped.describe() == "doubles its input"

    sk = tmp_path / "sklearn"
    shipyard.sklearn.save_model(iris_lr_frame, str(sk))
    with pytest.raises(InvalidState, match="is not a python model") as caught:
        shipyard.pyfunc.load_model(str(sk)).unwrap_python_model()
    assert isinstance(caught.value, MlflowException)
    mlflow = mlflow_module()
    with warnings.catch_warnings(), pytest.raises(mlflow.exceptions.MlflowException):
        warnings.simplefilter("ignore")
        mlflow.pyfunc.load_model(str(sk)).unwrap_python_model()


def test_an_unknown_predict_param_is_refused_where_mlflow_drops_it(tmp_path: Path) -> None:
    """docs/signatures.md: deliberate (silently ignoring a caller's setting hides mistakes)."""
    frame = pd.DataFrame({"v": [1.0, 2.0]})
    path = tmp_path / "model"
    signature = shipyard.infer_signature(frame, frame, params={"factor": 2})
    shipyard.pyfunc.save_model(str(path), python_model=Doubler(), signature=signature)
    with pytest.raises(
        SchemaEnforcementError, match=r"unknown param\(s\) \['unknown'\]; the model accepts \['factor'\]"
    ):
        shipyard.pyfunc.load_model(str(path)).predict(frame, params={"unknown": 1})
    mlflow = mlflow_module()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = mlflow.pyfunc.load_model(str(path)).predict(frame, params={"unknown": 1})
    assert theirs["v"].tolist() == [2.0, 4.0]
    docs = (Path(shipyard.__file__).parent / "docs" / "signatures.md").read_text()
    assert "An unknown param name is rejected" in docs


def test_examples_with_params_in_both_layouts_feed_the_warm_up(tmp_path: Path) -> None:
    """MLflow's layout (`"params": "true"`, data under "inputs") is what Shipyard writes; the layout
    earlier Shipyard builds wrote (`params_included`, data under "data") still reads."""
    frame = pd.DataFrame({"v": [1.0, 2.0]})
    path = tmp_path / "model"
    signature = shipyard.infer_signature(frame, frame, params={"factor": 2})
    shipyard.pyfunc.save_model(
        str(path), python_model=Doubler(), signature=signature, input_example=(frame, {"factor": 3})
    )
    saved = json.loads((path / "input_example.json").read_text())
    assert sorted(saved) == ["inputs", "params"] and Model.load(path).saved_input_example_info["params"] == "true"
    loaded = shipyard.pyfunc.load_model(str(path))
    np.testing.assert_array_equal(np.asarray(loaded.input_example()), [[1.0], [2.0]])

    model = Model.load(path)
    info = dict(model.saved_input_example_info or {})
    del info["params"]
    model.saved_input_example_info = {**info, "params_included": True}
    model.save(path)
    (path / "input_example.json").write_text(json.dumps({"data": saved["inputs"], "params": {"factor": 4}}))
    older = Model.load(path)
    pd.testing.assert_frame_equal(older.load_input_example(path), frame)
    assert older.load_input_example_params(path) == {"factor": 4}
