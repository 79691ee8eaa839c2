"""Model directories cross between MLflow and Shipyard both ways, with the same numbers.

MLflow -> Shipyard: MLflow saves the models in a subprocess; Shipyard loads them in another
subprocess where importing `mlflow` is blocked, proving the loader does not need it. A
python_model whose class lives in a module that itself imports mlflow needs mlflow (shown to fail
with a message naming the module); classes from scripts load without it
(test_mlflow_python_model.py).

Shipyard -> MLflow: every flavor Shipyard saves loads through `mlflow.pyfunc.load_model` (the
loader modules' `_load_pyfunc`) and predicts what Shipyard's own load predicts.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import shipyard

SAVE_WITH_MLFLOW = textwrap.dedent(
    """
    import json, sys, warnings
    warnings.simplefilter("ignore")
    from pathlib import Path
    import numpy as np, pandas as pd, torch, mlflow
    from onnx import TensorProto, helper, numpy_helper
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from mlflow.models import infer_signature

    out = Path(sys.argv[1])
    REQS = ["numpy"]  # explicit, so MLflow skips its slow requirement-inference subprocess
    X, y = load_iris(return_X_y=True, as_frame=True)
    frame_model = LogisticRegression(max_iter=500).fit(X, y)
    array_model = LogisticRegression(max_iter=500).fit(X.to_numpy(), y)
    mlflow.sklearn.save_model(frame_model, out / "sk_skops", input_example=X.head(3),
                              signature=infer_signature(X, frame_model.predict(X)), pip_requirements=REQS)
    mlflow.sklearn.save_model(array_model, out / "sk_cloudpickle", serialization_format="cloudpickle",
                              pyfunc_predict_fn="predict_proba", input_example=X.to_numpy()[:2],
                              pip_requirements=REQS)

    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, 3)).astype(np.float32); b = rng.normal(size=3).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node("Add", ["h", "b"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "b")])
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]); onnx_model.ir_version = 8
    x = rng.normal(size=(5, 4)).astype(np.float32)
    mlflow.onnx.save_model(onnx_model, out / "onnx", input_example=x[:2], pip_requirements=REQS)

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)).eval()
    mlflow.pytorch.save_model(net, out / "torch_pickle", serialization_format="pickle", input_example=x[:2],
                              pip_requirements=REQS)
    mlflow.pytorch.save_model(net, out / "torch_pt2", input_example=x[:2], pip_requirements=REQS)

    sys.path.insert(0, str(out / "src"))
    import user_model
    mlflow.pyfunc.save_model(out / "python_model", python_model=user_model.Doubler(),
                             artifacts={"offset": str(out / "src" / "offset.txt")},
                             code_paths=[str(out / "src" / "user_model.py")],
                             input_example=pd.DataFrame({"v": [1.0, 2.0]}), pip_requirements=REQS)

    expected = {}
    for name, data in [("sk_skops", X), ("sk_cloudpickle", X.to_numpy()), ("onnx", x),
                       ("torch_pickle", x), ("torch_pt2", x),
                       ("python_model", pd.DataFrame({"v": [1.0, 2.0, 3.5]}))]:
        pred = mlflow.pyfunc.load_model(str(out / name)).predict(data)
        if isinstance(pred, dict):
            pred = next(iter(pred.values()))
        expected[name] = np.asarray(pred, dtype=float).tolist()
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
    import numpy as np, pandas as pd
    import shipyard
    from sklearn.datasets import load_iris

    out = Path(sys.argv[1])
    X, _ = load_iris(return_X_y=True, as_frame=True)
    x = np.random.default_rng(0)
    x.normal(size=(4, 3)); x.normal(size=3)
    x = x.normal(size=(5, 4)).astype(np.float32)
    got = {}
    for name, data, pickles in [("sk_skops", X, False), ("sk_cloudpickle", X.to_numpy(), True),
                                ("onnx", x, False), ("torch_pickle", x, True), ("torch_pt2", x, True)]:
        model = shipyard.pyfunc.load_model(out / name, allow_pickle=pickles)
        pred = model.predict(data)
        if isinstance(pred, dict):
            pred = next(iter(pred.values()))
        got[name] = np.asarray(pred, dtype=float).tolist()
    try:
        shipyard.pyfunc.load_model(out / "python_model")
        got["python_model_error"] = None
    except shipyard.exceptions.ModelLoadError as exc:
        got["python_model_error"] = str(exc)
    got["mlflow_imported"] = any(m == "mlflow" or m.startswith("mlflow.") for m in sys.modules)
    print(json.dumps(got))
    """
)

USER_MODULE = textwrap.dedent(
    """
    import mlflow


    class Doubler(mlflow.pyfunc.PythonModel):
        # NOTE: MLflow's own switch to skip wrapping predict for type-hint validation; without it
        # MLflow warns about missing type hints under a "once" filter no test filter can reach.
        _skip_type_hint_validation = True

        def load_context(self, context):
            with open(context.artifacts["offset"]) as fh:
                self.offset = float(fh.read())

        def predict(self, context, model_input, params=None):
            return model_input["v"].to_numpy() * 2 + self.offset
    """
)


@pytest.fixture(scope="module")
def mlflow_dirs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mlflow-saved")
    (out / "src").mkdir()
    (out / "src" / "user_model.py").write_text(USER_MODULE)
    (out / "src" / "offset.txt").write_text("0.5")
    subprocess.run([sys.executable, "-c", SAVE_WITH_MLFLOW, str(out)], check=True, cwd=out, capture_output=True)
    return out


def test_mlflow_dirs_load_without_mlflow_and_match(mlflow_dirs: Path) -> None:
    expected = json.loads((mlflow_dirs / "expected.json").read_text())
    proc = subprocess.run(
        [sys.executable, "-c", LOAD_WITHOUT_MLFLOW, str(mlflow_dirs)],
        cwd=mlflow_dirs,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["mlflow_imported"] is False
    for name in ("sk_skops", "sk_cloudpickle", "onnx", "torch_pickle", "torch_pt2"):
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-5, atol=1e-6, err_msg=name)
    # The pickled class comes from user_model, which imports mlflow: the error names both.
    error = got["python_model_error"]
    assert error is not None and "user_model.Doubler is defined in module 'user_model'" in error
    assert "which imports 'mlflow'" in error and "ModuleNotFoundError" not in error


# Importing mlflow.pyfunc warns about type hints in MLflow's own classes; not ours to fix.
@pytest.mark.filterwarnings("ignore:.*Any type hint is inferred as AnyType:UserWarning")
def test_mlflow_python_model_loads_with_mlflow_installed(mlflow_dirs: Path) -> None:
    expected = json.loads((mlflow_dirs / "expected.json").read_text())
    model = shipyard.pyfunc.load_model(mlflow_dirs / "python_model")
    pred = model.predict(pd.DataFrame({"v": [1.0, 2.0, 3.5]}))
    np.testing.assert_allclose(np.asarray(pred, dtype=float), expected["python_model"])
    assert model.signature is not None  # MLflow inferred it from the example; we enforce it
    np.testing.assert_allclose(model.predict({"v": [1, 2]}), [2.5, 4.5])


# -- Shipyard saves, mlflow.pyfunc.load_model loads --------------------------------------------
class Scaled(shipyard.pyfunc.PythonModel):
    """A python model whose numbers depend on its config and on a param."""

    def load_context(self, context: shipyard.pyfunc.PythonModelContext) -> None:
        self.scale = float(context.model_config["scale"])

    def predict(
        self, context: shipyard.pyfunc.PythonModelContext, model_input: pd.DataFrame, params: dict | None = None
    ) -> np.ndarray:
        return model_input["v"].to_numpy() * self.scale + (params or {}).get("shift", 0.0)


def save_with_shipyard(kind: str, path: Path, request: pytest.FixtureRequest) -> tuple[Path, object]:
    """One Shipyard-saved directory of `kind` and the input to predict on."""
    X, _ = request.getfixturevalue("iris")
    build = request.getfixturevalue("build")
    x = np.random.default_rng(1).normal(size=(6, 4)).astype(np.float32)
    if kind == "sklearn_frame":
        shipyard.sklearn.save_model(request.getfixturevalue("iris_lr_frame"), path, input_example=X.head(3))
        return path, X
    if kind in ("sklearn_proba", "sklearn_skops", "sklearn_pickle"):
        fmt = {"sklearn_proba": "cloudpickle", "sklearn_skops": "skops", "sklearn_pickle": "pickle"}[kind]
        shipyard.sklearn.save_model(
            request.getfixturevalue("iris_lr_array"),
            path,
            serialization_format=fmt,
            pyfunc_predict_fn="predict_proba" if kind == "sklearn_proba" else "predict",
            input_example=X.to_numpy()[:2],
        )
        return path, X.to_numpy()
    if kind == "onnx":
        shipyard.onnx.save_model(build.onnx_mlp([4, 8, 3]), path)
        return path, x
    if kind == "torch_pickle":
        shipyard.pytorch.save_model(build.torch_mlp([4, 8, 3]), path, input_example=x[:2])
        return path, x
    if kind == "torch_script":
        import torch

        shipyard.pytorch.save_model(torch.jit.script(build.torch_mlp([4, 8, 3])), path, input_example=x[:2])
        return path, x
    assert kind == "python_model"
    sig = shipyard.ModelSignature(
        inputs=shipyard.Schema([shipyard.ColSpec("double", "v")]),
        params=shipyard.ParamSchema([shipyard.ParamSpec("shift", "double", 0.0)]),
    )
    shipyard.pyfunc.save_model(path, python_model=Scaled(), model_config={"scale": 3.0}, signature=sig)
    return path, pd.DataFrame({"v": [1.0, 2.0, 3.5]})


def mlflow_load(path: Path, **kwargs: object) -> object:
    """`mlflow.pyfunc.load_model`. NOTE: importing and calling mlflow warns from inside mlflow
    (type hints of its own classes, pandas deprecations); not ours, so silenced for its calls."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import mlflow.pyfunc

        return mlflow.pyfunc.load_model(str(path), **kwargs)


def as_array(pred: object) -> np.ndarray:
    if isinstance(pred, dict):
        (pred,) = pred.values()
    return np.asarray(pred, dtype=float)


# torch 2.13 deprecates torch.jit.script; TorchScript is still a format users bring (test_onnx_torch.py).
@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
@pytest.mark.parametrize(
    "kind",
    [
        "sklearn_frame",
        "sklearn_proba",
        "sklearn_skops",
        "sklearn_pickle",
        "onnx",
        "torch_pickle",
        "torch_script",
        "python_model",
    ],
)
def test_shipyard_dirs_load_in_mlflow_and_match(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    import warnings

    path, data = save_with_shipyard(kind, tmp_path / kind, request)
    ours = shipyard.pyfunc.load_model(path).predict(data)
    theirs_model = mlflow_load(path)
    assert theirs_model.loader_module.startswith("shipyard.flavors.")  # our _load_pyfunc, not MLflow's
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # see mlflow_load
        theirs = theirs_model.predict(data)
    assert type(theirs) is type(ours), kind
    np.testing.assert_allclose(as_array(theirs), as_array(ours), rtol=1e-6, err_msg=kind)
    if kind == "sklearn_proba":
        assert as_array(theirs).shape == (len(data), 3)  # predict_fn honoured: probabilities


def test_shipyard_python_model_params_and_config_through_mlflow(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    import warnings

    path, data = save_with_shipyard("python_model", tmp_path / "pm", request)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # see mlflow_load
        shifted = mlflow_load(path).predict(data, params={"shift": 1.0})
        rescaled = mlflow_load(path, model_config={"scale": 5.0}).predict(data)
    np.testing.assert_allclose(shifted, shipyard.pyfunc.load_model(path).predict(data, params={"shift": 1.0}))
    np.testing.assert_allclose(shifted, [4.0, 7.0, 11.5])
    np.testing.assert_allclose(rescaled, shipyard.flavors.load_model(path, model_config={"scale": 5.0}).predict(data))
    np.testing.assert_allclose(rescaled, [5.0, 10.0, 17.5])
