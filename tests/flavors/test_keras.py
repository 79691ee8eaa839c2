"""Keras 3 flavors (`shipyard.keras`, `shipyard.tensorflow`): `.keras` files on the installed
backend (torch here: TensorFlow is not installed), saved, logged, loaded (also from directories
MLflow wrote, without mlflow) and served, with the framework's own numbers. A uint8 image model
with an input example logs, serves and infers its uint8 tensor signature."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import yaml

import shipyard
from shipyard.exceptions import InvalidInput
from shipyard.flavors.environment import installed_version
from shipyard.flavors.keras import import_keras
from shipyard.tracking import fluent_state

HAS_TENSORFLOW = importlib.util.find_spec("tensorflow") is not None
UINT8_SPEC = '[{"type": "tensor", "tensor-spec": {"dtype": "uint8", "shape": [-1, 8, 8, 3]}}]'


@pytest.fixture(scope="module")
def keras(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """keras on torch, its config folder in a temporary directory (keras writes keras.json there)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KERAS_HOME", str(tmp_path_factory.mktemp("keras-home")))
        module = import_keras()
    assert module.backend.backend() in ("torch", "tensorflow", "jax")
    return module


def image_model(keras: Any, seed: int = 0) -> Any:
    """uint8 8x8 RGB images -> 3 class probabilities."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(8, 8, 3), dtype="uint8")
    hidden = keras.layers.Rescaling(1 / 255.0)(inputs)
    hidden = keras.layers.Conv2D(4, 3, activation="relu")(hidden)
    hidden = keras.layers.GlobalAveragePooling2D()(hidden)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(hidden))


@pytest.fixture(scope="module")
def model(keras: Any) -> Any:
    return image_model(keras)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(5, 8, 8, 3), dtype=np.uint8)


def own_predict(model: Any, x: np.ndarray) -> np.ndarray:
    """The model called on the batch: keras's own numbers (`model.predict` on torch warns under numpy 2)."""
    out = model(x, training=False)
    return np.asarray(out.detach().cpu().numpy() if hasattr(out, "detach") else out)


def mlmodel(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load((path / "MLmodel").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_uint8_image_model_round_trip_infers_its_signature(
    keras: Any, model: Any, images: np.ndarray, tmp_path: Path
) -> None:
    path = tmp_path / "km"
    shipyard.keras.save_model(model, path, input_example=images[:2])
    assert (path / "data" / "model.keras").is_file() and (path / "data" / "keras_module.txt").read_text() == "keras"
    conf = mlmodel(path)["flavors"]
    backend = keras.backend.backend()
    assert conf["keras"]["keras_backend"] == backend and conf["keras"]["keras_version"] == keras.__version__
    requirements = (path / "requirements.txt").read_text().split()
    assert f"keras=={installed_version('keras')}" in requirements
    assert f"{backend}=={installed_version(backend).split('+')[0]}" in requirements
    loaded = shipyard.keras.load_model(path)
    assert isinstance(loaded, keras.Model)
    np.testing.assert_array_equal(own_predict(loaded, images), own_predict(model, images))
    pyfunc = shipyard.pyfunc.load_model(path, allow_pickle=False)
    assert pyfunc.signature is not None and pyfunc.signature.to_dict()["inputs"] == UINT8_SPEC
    assert json.loads(pyfunc.signature.to_dict()["outputs"])[0]["tensor-spec"] == {"dtype": "float32", "shape": [-1, 3]}
    np.testing.assert_array_equal(pyfunc.predict(images), own_predict(model, images))
    np.testing.assert_array_equal(pyfunc.predict(images.tolist()), own_predict(model, images))


def test_tensorflow_flavor_saves_keras_3_without_tensorflow(model: Any, images: np.ndarray, tmp_path: Path) -> None:
    path = tmp_path / "tf"
    shipyard.tensorflow.save_model(model, path, input_example=images[:2])
    conf = mlmodel(path)["flavors"]
    assert conf["tensorflow"]["model_type"] == "keras" and conf["tensorflow"]["save_format"] == "keras"
    assert conf["python_function"]["loader_module"] == "shipyard.flavors.tensorflow"
    np.testing.assert_array_equal(own_predict(shipyard.tensorflow.load_model(path), images), own_predict(model, images))
    pyfunc = shipyard.pyfunc.load_model(path)
    assert pyfunc.signature is not None and pyfunc.signature.to_dict()["inputs"] == UINT8_SPEC
    np.testing.assert_array_equal(pyfunc.predict(images), own_predict(model, images))


def test_what_needs_tensorflow_says_so(model: Any, tmp_path: Path) -> None:
    if HAS_TENSORFLOW:
        with pytest.raises(InvalidInput, match="model must be a keras.Model or a tf.Module, got dict"):
            shipyard.tensorflow.save_model({}, tmp_path / "a")
        return
    with pytest.raises(InvalidInput, match=r"not a Keras 3 model: .* needs tensorflow, and it is not installed"):
        shipyard.tensorflow.save_model({}, tmp_path / "a")
    with pytest.raises(
        InvalidInput, match="save_exported_model=True writes a TensorFlow SavedModel .* needs tensorflow"
    ):
        shipyard.keras.save_model(model, tmp_path / "a", save_exported_model=True)
    assert not (tmp_path / "a").exists()


def test_bad_arguments_name_the_field(model: Any, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="model must be a Keras 3 keras.Model, got dict"):
        shipyard.keras.save_model({}, tmp_path / "a")
    with pytest.raises(InvalidInput, match="custom_objects is not supported by Shipyard"):
        shipyard.tensorflow.save_model(model, tmp_path / "a", custom_objects={"f": len})
    with pytest.raises(InvalidInput, match="keras_model_kwargs save_format"):
        shipyard.tensorflow.save_model(model, tmp_path / "a", keras_model_kwargs={"save_format": "h5"})
    assert not (tmp_path / "a").exists()


def test_log_model_then_load_by_runs_and_models_uri(
    model: Any, images: np.ndarray, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setattr(fluent_state.STATE, "experiment_id", None)
    shipyard.set_tracking_uri(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        with shipyard.start_run():
            info = shipyard.keras.log_model(model, name="model", input_example=images[:2], registered_model_name="img")
        assert info.registered_model_version == 1 and info.signature.to_dict()["inputs"] == UINT8_SPEC
        for uri in (info.model_uri, "models:/img/1"):
            np.testing.assert_array_equal(
                own_predict(shipyard.keras.load_model(uri), images), own_predict(model, images)
            )
    finally:
        shipyard.set_tracking_uri(None)


def test_served_over_invocations_and_v2_with_the_uint8_signature(
    model: Any, images: np.ndarray, tmp_path: Path, runtime_helpers: Any
) -> None:
    path = tmp_path / "img"
    shipyard.keras.save_model(model, path, input_example=images[:2])
    expected = own_predict(model, images)
    with runtime_helpers.shipyard_server(path, tmp_path) as server:
        scored = httpx.post(server.url + "/invocations", json={"inputs": images.tolist()}, timeout=60)
        assert scored.status_code == 200, scored.text
        np.testing.assert_allclose(scored.json()["predictions"], expected, rtol=1e-6)
        metadata = httpx.get(server.url + "/v2/models/img", timeout=30).json()
        assert metadata["inputs"][0]["datatype"] == "UINT8" and metadata["inputs"][0]["shape"] == [-1, 8, 8, 3]
        body = {
            "inputs": [
                {"name": "input-0", "datatype": "UINT8", "shape": [1, 8, 8, 3], "data": images[0].ravel().tolist()}
            ]
        }
        v2 = httpx.post(server.url + "/v2/models/img/infer", json=body, timeout=60)
        assert v2.status_code == 200, v2.text
        np.testing.assert_allclose(v2.json()["outputs"][0]["data"], expected[0], rtol=1e-6)
        wrong = httpx.post(server.url + "/invocations", json={"inputs": [[[0.5] * 3] * 8] * 8}, timeout=30)
        assert wrong.status_code == 400, wrong.text


SAVE_WITH_MLFLOW = textwrap.dedent(
    """
    import json, sys, warnings
    warnings.simplefilter("ignore")
    from pathlib import Path
    import numpy as np, keras, mlflow.keras, mlflow.pyfunc
    from mlflow.models import infer_signature
    out = Path(sys.argv[1])
    keras.utils.set_random_seed(4)
    inputs = keras.Input(shape=(8, 8, 3), dtype="uint8")
    hidden = keras.layers.Rescaling(1 / 255.0)(inputs)
    hidden = keras.layers.Conv2D(4, 3, activation="relu")(hidden)
    hidden = keras.layers.GlobalAveragePooling2D()(hidden)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(hidden))
    x = np.random.default_rng(2).integers(0, 256, size=(4, 8, 8, 3), dtype=np.uint8)
    # NOTE: mlflow.keras infers no signature (mlflow.tensorflow does) and needs the folder to exist.
    signature = infer_signature(x[:2], np.zeros((2, 3), np.float32))
    (out / "mlflow_keras").mkdir()
    mlflow.keras.save_model(model, str(out / "mlflow_keras"), signature=signature, input_example=x[:2],
                            pip_requirements=["numpy"])
    expected = {
        "x": x.tolist(),
        "mlflow_keras": np.asarray(mlflow.pyfunc.load_model(str(out / "mlflow_keras")).predict(x),
                                   dtype=float).tolist(),
        # Shipyard's own directory, through MLflow's loader (the loader module's _load_pyfunc).
        "shipyard_in_mlflow": np.asarray(mlflow.pyfunc.load_model(str(out / "shipyard_keras")).predict(x),
                                         dtype=float).tolist(),
    }
    (out / "expected.json").write_text(json.dumps(expected))
    """
)

LOAD_WITHOUT_MLFLOW = textwrap.dedent(
    """
    import importlib.abc, json, sys
    from pathlib import Path

    class BlockMlflow(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name == "mlflow" or name.startswith("mlflow."):
                raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
            return None

    sys.meta_path.insert(0, BlockMlflow())
    import numpy as np
    import shipyard
    out = Path(sys.argv[1])
    x = np.asarray(json.loads((out / "expected.json").read_text())["x"], dtype=np.uint8)
    loaded = shipyard.keras.load_model(out / "mlflow_keras")
    pyfunc = shipyard.pyfunc.load_model(out / "mlflow_keras", allow_pickle=False)
    got = {
        "pyfunc": np.asarray(pyfunc.predict(x), dtype=float).tolist(),
        "load_model": loaded(x, training=False).detach().numpy().astype(float).tolist(),
        "signature": pyfunc.signature.to_dict()["inputs"],
        "backend": sys.modules["keras"].backend.backend(),
        "mlflow_imported": any(m == "mlflow" or m.startswith("mlflow.") for m in sys.modules),
    }
    print(json.dumps(got))
    """
)


def test_mlflow_saved_directories_load_without_mlflow_and_match(model: Any, tmp_path: Path) -> None:
    """MLflow saves on torch; Shipyard loads with KERAS_BACKEND unset and a keras.json that names
    tensorflow (keras's default, not installed here): the recorded backend is the one used."""
    shipyard.keras.save_model(model, tmp_path / "shipyard_keras", input_example=np.zeros((1, 8, 8, 3), np.uint8))
    home = tmp_path / "keras-home"
    home.mkdir()
    (home / "keras.json").write_text(json.dumps({"backend": "tensorflow", "floatx": "float32"}))
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"} | {"KERAS_HOME": str(home)}
    saved = subprocess.run(
        [sys.executable, "-c", SAVE_WITH_MLFLOW, str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env | {"KERAS_BACKEND": "torch"},
    )
    assert saved.returncode == 0, saved.stderr[-3000:]
    conf = mlmodel(tmp_path / "mlflow_keras")["flavors"]
    assert conf["python_function"]["loader_module"] == "mlflow.keras" and conf["keras"]["keras_backend"] == "torch"
    proc = subprocess.run(
        [sys.executable, "-c", LOAD_WITHOUT_MLFLOW, str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    expected = json.loads((tmp_path / "expected.json").read_text())
    assert got["mlflow_imported"] is False and got["backend"] == ("tensorflow" if HAS_TENSORFLOW else "torch")
    assert got["signature"] == '[{"type": "tensor", "tensor-spec": {"dtype": "uint8", "shape": [-1, 8, 8, 3]}}]'
    for key in ("pyfunc", "load_model"):
        np.testing.assert_allclose(got[key], expected["mlflow_keras"], rtol=1e-5, atol=1e-7, err_msg=key)
    x = np.asarray(expected["x"], dtype=np.uint8)
    np.testing.assert_allclose(expected["shipyard_in_mlflow"], own_predict(model, x), rtol=1e-5, atol=1e-7)


def test_image_installs_only_keras_its_backend_and_numpy(keras: Any, model: Any, tmp_path: Path) -> None:
    from shipyard.images.context import model_requirements

    shipyard.keras.save_model(model, tmp_path / "km")
    backend = keras.backend.backend()
    assert model_requirements(tmp_path / "km") == [
        f"keras=={installed_version('keras')}",
        f"{backend}=={installed_version(backend).split('+')[0]}",
        f"numpy=={installed_version('numpy')}",
    ]


@pytest.mark.parametrize("function", ["save_model", "log_model", "load_model"])
def test_mlflow_keras_parameters_bind_the_same_way(keras: Any, function: str) -> None:
    """As tests/test_mlflow_signatures.py does for the other flavors (mlflow.keras imports keras
    at import, so it is compared here, after the fixture chose keras's backend)."""
    import inspect
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Any type hint is inferred as AnyType", category=UserWarning)
        import mlflow.keras
    ours = list(inspect.signature(getattr(shipyard.keras, function)).parameters)
    theirs = inspect.signature(getattr(mlflow.keras, function)).parameters.values()
    positional = [p.name for p in theirs if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert ours[: len(positional)] == positional
