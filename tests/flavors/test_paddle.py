"""PaddlePaddle flavor: `paddle.jit.save` inference programs and `paddle.save` state dicts, saved,
logged, loaded (also from directories MLflow wrote, without mlflow) and served, with the
framework's own numbers."""

from __future__ import annotations

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
from shipyard.exceptions import InvalidInput, ModelLoadError, UnsafeModelRefused
from shipyard.flavors.environment import installed_version
from shipyard.flavors.paddle import import_paddle
from shipyard.tracking import fluent_state

paddle = import_paddle()

NET_SOURCE = textwrap.dedent(
    """
    import paddle


    class Regressor(paddle.nn.Layer):
        def __init__(self):
            super().__init__()
            self.hidden = paddle.nn.Linear(4, 8)
            self.out = paddle.nn.Linear(8, 2)

        def forward(self, x):
            return self.out(paddle.nn.functional.relu(self.hidden(x)))
    """
)


class Regressor(paddle.nn.Layer):  # type: ignore[misc]  # paddle is untyped here (imported by name)
    def __init__(self) -> None:
        super().__init__()
        self.hidden = paddle.nn.Linear(4, 8)
        self.out = paddle.nn.Linear(8, 2)

    def forward(self, x: Any) -> Any:
        return self.out(paddle.nn.functional.relu(self.hidden(x)))


@pytest.fixture(scope="module")
def net() -> Any:
    paddle.seed(3)
    return Regressor().eval()


@pytest.fixture(scope="module")
def x() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)


def own_predict(layer: Any, x: np.ndarray) -> np.ndarray:
    with paddle.no_grad():
        return np.asarray(layer(paddle.to_tensor(x)).numpy())


def mlmodel(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load((path / "MLmodel").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_inference_program_round_trip_with_spec_from_the_example(net: Any, x: np.ndarray, tmp_path: Path) -> None:
    path = tmp_path / "pd"
    shipyard.paddle.save_model(net, path, input_example=x[:2])
    assert (path / "model.json").is_file() and (path / "model.pdiparams").is_file()
    conf = mlmodel(path)["flavors"]
    assert conf["paddle"]["pickled_model"] == "model" and conf["paddle"]["paddle_version"] == paddle.__version__
    assert conf["python_function"]["loader_module"] == "shipyard.flavors.paddle"
    assert f"paddlepaddle=={installed_version('paddlepaddle')}" in (path / "requirements.txt").read_text().split()
    loaded = shipyard.paddle.load_model(path, allow_pickle=False)
    np.testing.assert_array_equal(own_predict(loaded, x), own_predict(net, x))
    model = shipyard.pyfunc.load_model(path, allow_pickle=False)
    assert model.signature is not None
    assert (
        model.signature.to_dict()["inputs"]
        == '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}}]'
    )
    assert (
        model.signature.to_dict()["outputs"]
        == '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 2]}}]'
    )
    np.testing.assert_array_equal(model.predict(x), own_predict(net, x))
    np.testing.assert_array_equal(model.predict(x[:1]), own_predict(net, x[:1]))


def test_state_dict_loads_into_the_class_given(net: Any, x: np.ndarray, tmp_path: Path) -> None:
    path = tmp_path / "sd"
    shipyard.paddle.save_model(net, path, training=True)
    assert mlmodel(path)["flavors"]["paddle"]["serialization_format"] == "state_dict"
    for target in (Regressor, Regressor()):
        loaded = shipyard.paddle.load_model(path, model=target)
        assert isinstance(loaded, Regressor)
        np.testing.assert_array_equal(own_predict(loaded, x), own_predict(net, x))
    with pytest.raises(UnsafeModelRefused, match="model.pdparams: it is a paddle file"):
        shipyard.paddle.load_model(path, model=Regressor, allow_pickle=False)
    with pytest.raises(ModelLoadError, match=r"state dict .* model=YourLayer\(\)"):
        shipyard.paddle.load_model(path)
    with pytest.raises(ModelLoadError, match="serving needs an inference program"):
        shipyard.pyfunc.load_model(path)
    with pytest.raises(InvalidInput, match="model must be a paddle.nn.Layer or paddle.Model .* got dict"):
        shipyard.paddle.load_model(path, model={})


def test_paddle_model_api_round_trip(x: np.ndarray, tmp_path: Path) -> None:
    paddle.seed(5)
    layer = Regressor()
    hl_model = paddle.Model(layer, inputs=[paddle.static.InputSpec([None, 4], "float32", "x")])
    shipyard.paddle.save_model(hl_model, tmp_path / "program")
    np.testing.assert_array_equal(shipyard.pyfunc.load_model(tmp_path / "program").predict(x), own_predict(layer, x))
    shipyard.paddle.save_model(hl_model, tmp_path / "train", training=True)
    assert (tmp_path / "train" / "model.pdparams").is_file()  # (no .pdopt: no optimizer was prepared)
    target = paddle.Model(Regressor(), inputs=[paddle.static.InputSpec([None, 4], "float32", "x")])
    loaded = shipyard.paddle.load_model(tmp_path / "train", model=target)
    assert loaded is target
    np.testing.assert_array_equal(own_predict(target.network, x), own_predict(layer, x))


def test_bad_arguments_name_the_field(net: Any, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="pd_model must be a paddle.nn.Layer or paddle.Model, got dict"):
        shipyard.paddle.save_model({}, tmp_path / "a")
    with pytest.raises(InvalidInput, match=r"pass input_spec=\[paddle.static.InputSpec"):
        shipyard.paddle.save_model(Regressor(), tmp_path / "a")
    assert not (tmp_path / "a").exists()
    with pytest.raises(InvalidInput, match="parameter 'extra_files' is not supported"):
        shipyard.paddle.save_model(net, tmp_path / "a", extra_files=["x"])


def test_log_model_then_load_by_runs_and_models_uri(net: Any, x: np.ndarray, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setattr(fluent_state.STATE, "experiment_id", None)
    shipyard.set_tracking_uri(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        with shipyard.start_run():
            info = shipyard.paddle.log_model(net, name="model", input_example=x[:2], registered_model_name="reg")
        assert info.registered_model_version == 1 and "paddle" in info.flavors
        for uri in (info.model_uri, "models:/reg/1"):
            np.testing.assert_array_equal(own_predict(shipyard.paddle.load_model(uri), x), own_predict(net, x))
    finally:
        shipyard.set_tracking_uri(None)


SAVE_WITH_MLFLOW = textwrap.dedent(
    """
    import json, sys, warnings
    warnings.simplefilter("ignore")
    from pathlib import Path
    import numpy as np, paddle, mlflow.paddle, mlflow.pyfunc
    out = Path(sys.argv[1]); sys.path.insert(0, str(out))
    from net import Regressor
    paddle.seed(7)
    layer = Regressor(); layer.eval()
    x = np.random.default_rng(1).normal(size=(5, 4)).astype(np.float32)
    spec = [paddle.static.InputSpec([None, 4], "float32", "x")]
    mlflow.paddle.save_model(layer, out / "program", input_example=x[:2], pip_requirements=["numpy"], input_spec=spec)
    # MLflow saves state dicts only for a paddle.Model (paddle.Model.save(training=True)).
    mlflow.paddle.save_model(paddle.Model(layer, inputs=spec), out / "state", training=True, pip_requirements=["numpy"])
    pred = mlflow.pyfunc.load_model(str(out / "program")).predict(x)
    # Shipyard's own directory, through MLflow's loader (the loader module's _load_pyfunc).
    ours = mlflow.pyfunc.load_model(str(out / "shipyard_program")).predict(x)
    (out / "expected.json").write_text(json.dumps({"x": x.tolist(), "y": np.asarray(pred, dtype=float).tolist(),
                                                   "shipyard_in_mlflow": np.asarray(ours, dtype=float).tolist()}))
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
    from shipyard.flavors.paddle import import_paddle
    paddle = import_paddle()
    out = Path(sys.argv[1]); sys.path.insert(0, str(out))
    from net import Regressor
    x = np.asarray(json.loads((out / "expected.json").read_text())["x"], dtype=np.float32)
    state = shipyard.paddle.load_model(out / "state", model=Regressor)
    got = {
        "pyfunc": np.asarray(shipyard.pyfunc.load_model(out / "program").predict(x), dtype=float).tolist(),
        "program": shipyard.paddle.load_model(out / "program")(paddle.to_tensor(x)).numpy().astype(float).tolist(),
        "state": state(paddle.to_tensor(x)).numpy().astype(float).tolist(),
        "mlflow_imported": any(m == "mlflow" or m.startswith("mlflow.") for m in sys.modules),
    }
    print(json.dumps(got))
    """
)


def test_mlflow_saved_directories_load_without_mlflow_and_match(net: Any, x: np.ndarray, tmp_path: Path) -> None:
    (tmp_path / "net.py").write_text(NET_SOURCE)
    shipyard.paddle.save_model(net, tmp_path / "shipyard_program", input_example=x[:2])
    env = {"MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true"}  # mlflow.paddle.load_model asks for it
    saved = subprocess.run(
        [sys.executable, "-c", SAVE_WITH_MLFLOW, str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )
    assert saved.returncode == 0, saved.stderr[-3000:]
    assert mlmodel(tmp_path / "program")["flavors"]["python_function"]["loader_module"] == "mlflow.paddle"
    proc = subprocess.run(
        [sys.executable, "-c", LOAD_WITHOUT_MLFLOW, str(tmp_path)], cwd=tmp_path, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    expected = json.loads((tmp_path / "expected.json").read_text())["y"]
    assert got["mlflow_imported"] is False
    for key in ("pyfunc", "program", "state"):
        np.testing.assert_allclose(got[key], expected, rtol=1e-6, atol=1e-7, err_msg=key)
    saved_x = np.asarray(json.loads((tmp_path / "expected.json").read_text())["x"], dtype=np.float32)
    in_mlflow = json.loads((tmp_path / "expected.json").read_text())["shipyard_in_mlflow"]
    np.testing.assert_allclose(in_mlflow, own_predict(net, saved_x), rtol=1e-6, atol=1e-7)


def test_served_over_invocations_and_v2(net: Any, x: np.ndarray, tmp_path: Path, runtime_helpers: Any) -> None:
    path = tmp_path / "pd"
    shipyard.paddle.save_model(net, path, input_example=x[:2])
    expected = own_predict(net, x)
    with runtime_helpers.shipyard_server(path, tmp_path) as server:
        scored = httpx.post(server.url + "/invocations", json={"inputs": x.tolist()}, timeout=30)
        assert scored.status_code == 200, scored.text
        np.testing.assert_allclose(scored.json()["predictions"], expected, rtol=1e-6)
        body = {"inputs": [{"name": "input-0", "datatype": "FP32", "shape": [1, 4], "data": x[0].tolist()}]}
        v2 = httpx.post(server.url + "/v2/models/pd/infer", json=body, timeout=30)
        assert v2.status_code == 200, v2.text
        np.testing.assert_allclose(v2.json()["outputs"][0]["data"], expected[0], rtol=1e-6)
        bad = httpx.post(server.url + "/invocations", json={"inputs": [[1.0, 2.0]]}, timeout=30)
        assert bad.status_code == 400 and "shape" in bad.json()["message"]


def test_image_installs_only_paddle_and_numpy(net: Any, x: np.ndarray, tmp_path: Path) -> None:
    """What `build-docker` installs for the model: its pinned requirements, nothing of the other
    frameworks (Shipyard itself comes from its `serve` extra). A real paddle image build is not
    run here: paddlepaddle's wheel is ~195 MB and the installed package ~720 MB."""
    from shipyard.images.context import model_requirements

    shipyard.paddle.save_model(net, tmp_path / "pd", input_example=x[:2])
    assert model_requirements(tmp_path / "pd") == [
        f"paddlepaddle=={installed_version('paddlepaddle')}",
        f"numpy=={installed_version('numpy')}",
    ]
