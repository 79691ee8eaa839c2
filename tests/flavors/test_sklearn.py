"""sklearn flavor: save, load and predict give the original model's numbers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import shipyard
from shipyard.exceptions import SchemaEnforcementError, UnsafeModelRefused


def test_round_trip_dataframe_model(tmp_path: Path, iris, iris_lr_frame) -> None:
    X, _ = iris
    path = tmp_path / "m"
    shipyard.sklearn.save_model(iris_lr_frame, path, input_example=X.head(3))
    model = shipyard.pyfunc.load_model(path)
    np.testing.assert_array_equal(model.predict(X), iris_lr_frame.predict(X))
    # Other input forms, same numbers.
    records = X.head(4).to_dict(orient="records")
    np.testing.assert_array_equal(model.predict(records), iris_lr_frame.predict(X.head(4)))
    assert model.signature is not None and model.signature.inputs.input_names() == list(X.columns)
    assert model.batchable
    # The framework object comes back too.
    np.testing.assert_array_equal(shipyard.sklearn.load_model(path).coef_, iris_lr_frame.coef_)


def test_frame_model_gets_a_dataframe_per_batch_array_model_gets_an_array(
    tmp_path: Path, iris, iris_lr_frame, iris_lr_array
) -> None:
    X, _ = iris
    shipyard.sklearn.save_model(iris_lr_frame, tmp_path / "f", input_example=X.head(2))
    shipyard.sklearn.save_model(iris_lr_array, tmp_path / "a", input_example=X.head(2))
    frame_model = shipyard.pyfunc.load_model(tmp_path / "f")
    block = frame_model.prepare_input(X.head(2).to_dict(orient="list"))
    array = shipyard.pyfunc.load_model(tmp_path / "a").prepare_input(X.head(2).to_dict(orient="list"))
    # Four doubles: one request prepares to a 2-D block, whether or not the model needs names.
    for prepared in (block, array):
        assert isinstance(prepared, np.ndarray) and prepared.shape == (2, 4) and prepared.dtype == np.float64
    # Batched as the runtime does (axis 0); the estimator gets a DataFrame with the schema's
    # columns (sklearn would warn, an error here, if a names-fitted model got a bare array).
    batch = np.concatenate([block, frame_model.prepare_input([X.iloc[2].to_dict()])], axis=0)
    np.testing.assert_array_equal(frame_model.predict_prepared(batch), iris_lr_frame.predict(X.head(3)))
    np.testing.assert_array_equal(frame_model.predict(X.head(3)), iris_lr_frame.predict(X.head(3)))
    example = frame_model.input_example()
    assert isinstance(example, np.ndarray) and example.shape == (2, 4)
    np.testing.assert_array_equal(frame_model.predict_prepared(example), iris_lr_frame.predict(X.head(2)))


def test_array_model_round_trip_with_tensor_signature(tmp_path: Path, iris, iris_lr_array) -> None:
    X, _ = iris
    arr = X.to_numpy()
    shipyard.sklearn.save_model(iris_lr_array, tmp_path / "m", input_example=arr[:2])
    model = shipyard.pyfunc.load_model(tmp_path / "m")
    assert model.signature.inputs.is_tensor_spec()
    np.testing.assert_array_equal(model.predict(arr), iris_lr_array.predict(arr))
    np.testing.assert_array_equal(model.predict(arr[:3].tolist()), iris_lr_array.predict(arr[:3]))


def test_predict_proba_and_skops(tmp_path: Path, iris, iris_lr_frame) -> None:
    X, _ = iris
    shipyard.sklearn.save_model(
        iris_lr_frame,
        tmp_path / "m",
        serialization_format="skops",
        pyfunc_predict_fn="predict_proba",
        input_example=X.head(2),
    )
    # skops is not pickle-based, so it loads when pickles are refused.
    model = shipyard.pyfunc.load_model(tmp_path / "m", allow_pickle=False)
    np.testing.assert_allclose(model.predict(X), iris_lr_frame.predict_proba(X))


def test_loading_sklearn_models_imports_no_torch(tmp_path: Path, iris, iris_lr_frame) -> None:
    """Idle memory: a skops or cloudpickle sklearn model must not pull in torch (~180 MB).
    A fresh interpreter, since this test process may have imported torch already."""
    X, _ = iris
    for fmt in ("skops", "cloudpickle"):
        shipyard.sklearn.save_model(iris_lr_frame, tmp_path / fmt, serialization_format=fmt)
    script = (
        "import sys, shipyard.flavors.pyfunc as p\n"
        f"for d in ({str(tmp_path / 'cloudpickle')!r}, {str(tmp_path / 'skops')!r}):\n"
        "    m = p.load_model(d)\n"
        "    skops = 'skops.io' in sys.modules\n"
        "    print(d.rsplit('/', 1)[1], skops, sorted(n for n in ('torch', 'cupy', 'dask') if n in sys.modules))\n"
        "print(m.predict([[1.0, 2.0, 3.0, 4.0]]).tolist())\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True)
    expected = iris_lr_frame.predict(pd.DataFrame([[1.0, 2.0, 3.0, 4.0]], columns=X.columns)).tolist()
    # The cloudpickle model does not even import skops; the skops one does, without torch.
    assert done.stdout.splitlines() == ["cloudpickle False []", "skops True []", str(expected)]


def test_allow_pickle_false_refuses_cloudpickle(tmp_path: Path, iris, iris_lr_frame) -> None:
    shipyard.sklearn.save_model(iris_lr_frame, tmp_path / "m", serialization_format="cloudpickle")
    with pytest.raises(UnsafeModelRefused, match="model.pkl") as info:
        shipyard.pyfunc.load_model(tmp_path / "m", allow_pickle=False)
    assert info.value.error_code == "PERMISSION_DENIED"
    with pytest.raises(UnsafeModelRefused):
        shipyard.sklearn.load_model(tmp_path / "m", allow_pickle=False)


def test_allow_pickle_setting_is_the_default_policy(tmp_path: Path, iris_lr_frame, monkeypatch) -> None:
    shipyard.sklearn.save_model(iris_lr_frame, tmp_path / "m", serialization_format="cloudpickle")
    monkeypatch.setenv("SHIPYARD_ALLOW_PICKLE", "false")
    with pytest.raises(UnsafeModelRefused):
        shipyard.pyfunc.load_model(tmp_path / "m")
    assert shipyard.pyfunc.load_model(tmp_path / "m", allow_pickle=True).predict is not None


def test_model_directory_files(tmp_path: Path, iris, iris_lr_frame) -> None:
    X, _ = iris
    path = tmp_path / "m"
    shipyard.sklearn.save_model(iris_lr_frame, path, input_example=X.head(2))
    mlmodel = yaml.safe_load((path / "MLmodel").read_text())
    assert mlmodel["shipyard_version"] == shipyard.__version__
    assert "mlflow_version" not in mlmodel
    conf = mlmodel["flavors"]["python_function"]
    assert conf["loader_module"] == "shipyard.flavors.sklearn"
    assert conf["env"] == {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}
    assert conf["predict_fn"] == "predict" and conf["model_path"] == "model.skops"  # the default, as MLflow 3's
    import platform

    import sklearn

    assert conf["python_version"] == platform.python_version()
    assert mlmodel["flavors"]["sklearn"]["sklearn_version"] == sklearn.__version__
    assert isinstance(mlmodel["signature"]["inputs"], str)  # JSON inside YAML, like MLflow
    reqs = (path / "requirements.txt").read_text().splitlines()
    assert f"scikit-learn=={sklearn.__version__}" in reqs
    env = yaml.safe_load((path / "python_env.yaml").read_text())
    assert env["python"] == platform.python_version() and env["dependencies"] == ["-r requirements.txt"]
    conda = yaml.safe_load((path / "conda.yaml").read_text())
    assert f"python={platform.python_version()}" in conda["dependencies"]
    serving = json.loads((path / "serving_input_example.json").read_text())
    assert serving["dataframe_split"]["columns"] == list(X.columns)
    assert serving["dataframe_split"]["data"][0] == X.iloc[0].tolist()
    info = mlmodel["saved_input_example_info"]
    assert info == {
        "artifact_path": "input_example.json",
        "pandas_orient": "split",
        "serving_input_path": "serving_input_example.json",
        "type": "dataframe",
    }


def test_existing_directory_is_not_overwritten(tmp_path: Path, iris_lr_frame) -> None:
    shipyard.sklearn.save_model(iris_lr_frame, tmp_path / "m")
    with pytest.raises(shipyard.exceptions.AlreadyExists, match="already exists"):
        shipyard.sklearn.save_model(iris_lr_frame, tmp_path / "m")


def test_enforcement_names_the_column(tmp_path: Path, iris, iris_lr_frame) -> None:
    X, _ = iris
    shipyard.sklearn.save_model(iris_lr_frame, tmp_path / "m", input_example=X.head(2))
    model = shipyard.pyfunc.load_model(tmp_path / "m")
    bad = X.head(2).astype({"petal width (cm)": object})
    bad["petal width (cm)"] = ["a", "b"]
    with pytest.raises(SchemaEnforcementError, match="petal width"):
        model.predict(bad)


def test_input_example_without_signature_is_a_dataframe(tmp_path: Path, iris, iris_lr_frame) -> None:
    X, _ = iris
    shipyard.sklearn.save_model(iris_lr_frame, tmp_path / "m", signature=False, input_example=X.head(2))
    example = shipyard.pyfunc.load_model(tmp_path / "m").input_example()
    assert isinstance(example, pd.DataFrame)
    pd.testing.assert_frame_equal(example, X.head(2))


def test_skops_untrusted_types_refused_at_save_unless_vouched_for(tmp_path: Path, iris) -> None:
    import operator

    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y = iris
    pipe = make_pipeline(FunctionTransformer(operator.neg), LogisticRegression(max_iter=500)).fit(X.to_numpy(), y)
    with pytest.raises(shipyard.exceptions.InvalidInput, match="_operator.neg"):
        shipyard.sklearn.save_model(pipe, tmp_path / "m", serialization_format="skops")
    shipyard.sklearn.save_model(
        pipe, tmp_path / "ok", serialization_format="skops", skops_trusted_types=["_operator.neg"]
    )
    # with pickles refused, the trust must come from the loading side (tests/flavors/test_skops_policy.py)
    model = shipyard.pyfunc.load_model(tmp_path / "ok", allow_pickle=False, skops_trusted_types=("_operator.neg",))
    np.testing.assert_array_equal(model.predict(X.to_numpy()[:5]), pipe.predict(X.to_numpy()[:5]))
