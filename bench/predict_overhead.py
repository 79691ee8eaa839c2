"""What generic predict adds on top of the bare framework call: Shipyard's pyfunc vs MLflow's.

Per flavor (sklearn iris LogisticRegression, ONNX 64-1024-1024-10 MLP, the same MLP in torch, as a
paddle inference program and as a Keras 3 model on the installed backend; an XGBoost and a
LightGBM Booster on the iris columns) and
batch size (1, 256): median time of the bare framework call, of `pyfunc.predict` (signature
enforcement included), and the difference ("added"), for Shipyard and for MLflow on the same
model saved by each, in the same run. Target: Shipyard's added time at batch 1 <= 1/5 of MLflow's.

Run: `python bench/predict_overhead.py [--calls 300]` (from anywhere; needs mlflow installed).
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np
from benchkit import MLP_SIZES, machine, mlp_weights, onnx_mlp, torch_mlp

MLP = MLP_SIZES


def medians_us(fns: list[Callable[[], Any]], calls: int) -> list[float]:
    """Median microseconds per call of each function. Calls are interleaved, in a fresh random
    order each round, so a busy (shared) machine and cache effects hit every variant alike."""
    for _ in range(min(20, calls)):  # warm-up
        for fn in fns:
            fn()
    times: list[list[int]] = [[] for _ in fns]
    order = list(range(len(fns)))
    shuffle = random.Random(0).shuffle
    for _ in range(calls):
        shuffle(order)
        for i in order:
            t0 = time.perf_counter_ns()
            fns[i]()
            times[i].append(time.perf_counter_ns() - t0)
    return [statistics.median(b) / 1000.0 for b in times]


def build(root: Path) -> list[dict[str, Any]]:
    """Each flavor saved by Shipyard and by MLflow; inputs per batch size; the bare calls."""
    import mlflow
    import torch
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    import shipyard

    rng = np.random.default_rng(0)
    reqs = ["numpy"]  # skip MLflow's slow requirement inference; it does not change predict
    X, y = load_iris(return_X_y=True, as_frame=True)
    lr = LogisticRegression(max_iter=500).fit(X, y)
    sig = mlflow.models.infer_signature(X, lr.predict(X))
    shipyard.sklearn.save_model(lr, root / "sy_sklearn", input_example=X.head(3))
    mlflow.sklearn.save_model(lr, root / "mf_sklearn", signature=sig, pip_requirements=reqs)

    onnx_model = onnx_mlp(mlp_weights())
    x_mlp = rng.normal(size=(256, MLP[0])).astype(np.float32)
    shipyard.onnx.save_model(onnx_model, root / "sy_onnx")
    mlflow.onnx.save_model(
        onnx_model,
        root / "mf_onnx",
        pip_requirements=reqs,
        signature=mlflow.models.infer_signature(x_mlp, np.zeros((1, MLP[-1]), np.float32)),
    )

    net = torch_mlp(mlp_weights())
    shipyard.pytorch.save_model(net, root / "sy_torch", input_example=x_mlp[:2])
    mlflow.pytorch.save_model(
        net,
        root / "mf_torch",
        serialization_format="pickle",
        pip_requirements=reqs,
        signature=mlflow.models.infer_signature(x_mlp, np.zeros((1, MLP[-1]), np.float32)),
    )

    frames = {
        1: X.iloc[[7]].reset_index(drop=True),
        256: X.sample(256, replace=True, random_state=0).reset_index(drop=True),
    }
    arrays = {1: x_mlp[:1].copy(), 256: x_mlp}

    def torch_bare(module: Any) -> Callable[[np.ndarray], Any]:
        def call(a: np.ndarray) -> Any:
            with torch.inference_mode():
                return module(torch.from_numpy(a)).numpy()

        return call

    out = []
    for flavor, inputs in (("sklearn", frames), ("onnx", arrays), ("torch", arrays)):
        ours = shipyard.pyfunc.load_model(root / f"sy_{flavor}")
        theirs = mlflow.pyfunc.load_model(str(root / f"mf_{flavor}"))
        if flavor == "sklearn":
            bare_ours = ours.backend.model.predict
            bare_theirs = theirs.get_raw_model().predict
        elif flavor == "onnx":
            sess_ours, sess_theirs = ours.backend.session, theirs.get_raw_model()
            bare_ours = lambda a, s=sess_ours: s.run(None, {"x": a})  # noqa: E731
            bare_theirs = lambda a, s=sess_theirs: s.run(None, {"x": a})  # noqa: E731
        else:
            bare_ours = torch_bare(ours.backend.model)
            bare_theirs = torch_bare(theirs.get_raw_model())
        out.append(
            {
                "flavor": flavor,
                "inputs": inputs,
                "ours": ours,
                "theirs": theirs,
                "bare_ours": bare_ours,
                "bare_theirs": bare_theirs,
            }
        )
    return out


def build_dl(root: Path) -> list[dict[str, Any]]:
    """The MLP as a paddle inference program and as a Keras 3 model (on the installed backend),
    each saved by Shipyard and by MLflow, with the bare framework calls."""
    import os

    from shipyard.flavors.keras import import_keras
    from shipyard.flavors.paddle import import_paddle

    os.environ.setdefault("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")  # mlflow.paddle's load asks for it
    paddle, keras = import_paddle(), import_keras()  # before mlflow.keras: keras picks its backend once
    keras.utils.disable_interactive_logging()  # MLflow's pyfunc calls model.predict: no progress bars
    import mlflow
    import mlflow.keras
    import mlflow.paddle

    import shipyard

    reqs = ["numpy"]
    weights = mlp_weights()
    x_mlp = np.random.default_rng(1).normal(size=(256, MLP[0])).astype(np.float32)
    sig = mlflow.models.infer_signature(x_mlp, np.zeros((1, MLP[-1]), np.float32))

    layers: list[Any] = []
    for i, (w, b) in enumerate(weights):
        linear = paddle.nn.Linear(w.shape[0], w.shape[1])
        linear.weight.set_value(w)  # paddle stores (inputs, outputs), as mlp_weights gives them
        linear.bias.set_value(b)
        layers += [linear] + ([paddle.nn.ReLU()] if i < len(weights) - 1 else [])
    pd_net = paddle.nn.Sequential(*layers)
    pd_net.eval()
    shipyard.paddle.save_model(pd_net, root / "sy_paddle", input_example=x_mlp[:2])
    spec = [paddle.static.InputSpec([None, MLP[0]], "float32", "x")]
    mlflow.paddle.save_model(pd_net, str(root / "mf_paddle"), signature=sig, pip_requirements=reqs, input_spec=spec)

    km = keras.Sequential([keras.Input((MLP[0],))] + [
        keras.layers.Dense(w.shape[1], activation="relu" if i < len(weights) - 1 else None)
        for i, (w, _) in enumerate(weights)
    ])  # fmt: skip
    for layer, (w, b) in zip(km.layers, weights, strict=True):
        layer.set_weights([w, b])
    shipyard.keras.save_model(km, root / "sy_keras", input_example=x_mlp[:2])
    (root / "mf_keras").mkdir()  # NOTE: mlflow.keras writes the example before making the folder
    mlflow.keras.save_model(km, str(root / "mf_keras"), signature=sig, pip_requirements=reqs)

    def paddle_bare(layer: Any) -> Callable[[np.ndarray], Any]:
        def call(a: np.ndarray) -> Any:
            with paddle.no_grad():
                return layer(paddle.to_tensor(a)).numpy()

        return call

    def keras_bare(model: Any) -> Callable[[np.ndarray], Any]:
        no_grad = import_module("torch").no_grad if keras.backend.backend() == "torch" else contextlib.nullcontext

        def call(a: np.ndarray) -> Any:
            with no_grad():
                out = model(a, training=False)
            return out.detach().numpy() if hasattr(out, "detach") else np.asarray(out)

        return call

    arrays = {1: x_mlp[:1].copy(), 256: x_mlp}
    out = []
    for flavor, bare in (("paddle", paddle_bare), ("keras", keras_bare)):
        ours = shipyard.pyfunc.load_model(root / f"sy_{flavor}")
        theirs = mlflow.pyfunc.load_model(str(root / f"mf_{flavor}"))
        out.append(
            {
                "flavor": flavor,
                "inputs": arrays,
                "ours": ours,
                "theirs": theirs,
                "bare_ours": bare(ours.backend.model),
                "bare_theirs": bare(theirs.get_raw_model()),
            }
        )
    return out


def build_trees(root: Path) -> list[dict[str, Any]]:
    """An XGBoost and a LightGBM Booster (100 trees, depth 6, on the iris columns), each saved by
    Shipyard and by MLflow. The bare call is the cheapest one each framework offers on a 2-D array
    (XGBoost's `inplace_predict`, LightGBM's `predict`), the same for both sides."""
    import mlflow
    import mlflow.lightgbm
    import mlflow.xgboost
    from sklearn.datasets import load_iris

    import lightgbm as lgb
    import shipyard
    import xgboost as xgb

    reqs = ["numpy"]
    X, y = load_iris(return_X_y=True, as_frame=True)
    xgb_model = xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 6}, xgb.DMatrix(X, label=y), 100)
    lgb_model = lgb.train(
        {"objective": "multiclass", "num_class": 3, "max_depth": 6, "verbose": -1}, lgb.Dataset(X, label=y), 100
    )
    frames = {
        1: X.iloc[[7]].reset_index(drop=True),
        256: X.sample(256, replace=True, random_state=0).reset_index(drop=True),
    }
    out = []
    for flavor, model, bare in (
        ("xgboost", xgb_model, lambda a, m=xgb_model: m.inplace_predict(a.to_numpy())),
        ("lightgbm", lgb_model, lambda a, m=lgb_model: m.predict(a.to_numpy())),
    ):
        sig = mlflow.models.infer_signature(X, bare(X))
        getattr(shipyard, flavor).save_model(model, root / f"sy_{flavor}", input_example=X.head(3))
        getattr(mlflow, flavor).save_model(model, str(root / f"mf_{flavor}"), signature=sig, pip_requirements=reqs)
        out.append(
            {
                "flavor": flavor,
                "inputs": frames,
                "ours": shipyard.pyfunc.load_model(root / f"sy_{flavor}"),
                "theirs": mlflow.pyfunc.load_model(str(root / f"mf_{flavor}")),
                "bare_ours": bare,
                "bare_theirs": bare,
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="timed calls per figure at batch 1")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # MLflow's advisory warnings would flood the table
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        cases = build(Path(tmp)) + build_dl(Path(tmp)) + build_trees(Path(tmp))
        header = (
            f"{'flavor':8} {'batch':>5} | {'bare':>8} {'shipyard':>9} {'added':>8} | "
            f"{'bare':>8} {'mlflow':>9} {'added':>8} | {'ours/mlflow added':>17}"
        )
        print("median microseconds per call; 'added' = pyfunc predict - bare framework call")
        print(f"{'':14} | {'--- Shipyard ---':^27} | {'--- MLflow ---':^27} |")
        print(header)
        print("-" * len(header))
        verdicts = []
        for case in cases:
            for batch, data in case["inputs"].items():
                calls = args.calls if batch == 1 else max(30, args.calls // 6)
                b_ours, ours, b_theirs, theirs = medians_us(
                    [
                        lambda case=case, data=data: case["bare_ours"](data),
                        lambda case=case, data=data: case["ours"].predict(data),
                        lambda case=case, data=data: case["bare_theirs"](data),
                        lambda case=case, data=data: case["theirs"].predict(data),
                    ],
                    calls,
                )
                # NOTE: at batch 256 the model dominates and noise can make "added" negative.
                add_ours, add_theirs = ours - b_ours, theirs - b_theirs
                ratio = add_ours / add_theirs if add_theirs > 0 else float("nan")
                print(
                    f"{case['flavor']:8} {batch:>5} | {b_ours:8.1f} {ours:9.1f} {add_ours:8.1f} | "
                    f"{b_theirs:8.1f} {theirs:9.1f} {add_theirs:8.1f} | {ratio:17.3f}"
                )
                if batch == 1:
                    verdicts.append((case["flavor"], ratio))
        print()
        for flavor, ratio in verdicts:
            status = "meets" if ratio <= 0.2 else "MISSES"
            print(f"{flavor}: Shipyard adds {ratio:.3f}x MLflow's overhead at batch 1 -> {status} the <= 0.2 target")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
