"""Directories written by the real `mlflow` load in Shipyard and predict the same numbers.

MLflow saves the models in a subprocess; Shipyard loads the sklearn/onnx/pytorch ones in another
subprocess where importing `mlflow` is blocked, proving the loader does not need it. MLflow's
python_model pickles subclass `mlflow.pyfunc.PythonModel`, so that one needs mlflow importable
(tested in-process, and shown to fail with a clear message when mlflow is blocked).
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
                raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)")
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
    # The python_model pickle needs mlflow; the error says so instead of a bare traceback.
    assert got["python_model_error"] is not None and "mlflow" in got["python_model_error"]
    assert "ModuleNotFoundError" in got["python_model_error"]


# Importing mlflow.pyfunc warns about type hints in MLflow's own classes; not ours to fix.
@pytest.mark.filterwarnings("ignore:.*Any type hint is inferred as AnyType:UserWarning")
def test_mlflow_python_model_loads_with_mlflow_installed(mlflow_dirs: Path) -> None:
    expected = json.loads((mlflow_dirs / "expected.json").read_text())
    model = shipyard.pyfunc.load_model(mlflow_dirs / "python_model")
    pred = model.predict(pd.DataFrame({"v": [1.0, 2.0, 3.5]}))
    np.testing.assert_allclose(np.asarray(pred, dtype=float), expected["python_model"])
    assert model.signature is not None  # MLflow inferred it from the example; we enforce it
    np.testing.assert_allclose(model.predict({"v": [1, 2]}), [2.5, 4.5])
