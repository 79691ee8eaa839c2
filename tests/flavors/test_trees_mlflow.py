"""XGBoost and LightGBM directories cross between MLflow and Shipyard, and are served.

MLflow -> Shipyard: `mlflow.xgboost` / `mlflow.lightgbm` save in a subprocess (with the
predictions MLflow's own pyfunc makes); Shipyard loads them in another subprocess where importing
`mlflow` is blocked, and must give the very same numbers. Shipyard -> MLflow: Shipyard's
directories load through `mlflow.pyfunc.load_model`. Serving: a real `shipyard serve` per flavor
answers `/invocations` and KServe V2 with the model's own predictions.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

import lightgbm as lgb
import shipyard
import xgboost as xgb

COLUMNS = ["f0", "f1", "f2", "f3"]
MLFLOW_DIRS = ("xgb_booster", "xgb_classifier_json", "lgb_booster", "lgb_classifier_skops", "lgb_regressor_pickle")

SAVE_WITH_MLFLOW = textwrap.dedent(
    """
    import json, sys, warnings
    warnings.simplefilter("ignore")
    from pathlib import Path
    import numpy as np, pandas as pd, lightgbm as lgb, xgboost as xgb, mlflow

    out = Path(sys.argv[1])
    REQS = ["numpy"]  # explicit, so MLflow skips its slow requirement-inference subprocess
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(60, 4)), columns=["f0", "f1", "f2", "f3"])
    y = (X["f0"] + X["f1"] > 0).astype(int).to_numpy()
    np.save(out / "X.npy", X.to_numpy())
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3}, xgb.DMatrix(X, label=y), 6)
    mlflow.xgboost.save_model(booster, out / "xgb_booster", input_example=X.head(2), pip_requirements=REQS)
    clf = xgb.XGBClassifier(n_estimators=5, max_depth=2).fit(X, y)
    mlflow.xgboost.save_model(clf, out / "xgb_classifier_json", model_format="json", pip_requirements=REQS)
    lbooster = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(X, label=y), 6)
    mlflow.lightgbm.save_model(lbooster, out / "lgb_booster", input_example=X.head(2), pip_requirements=REQS)
    lclf = lgb.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, y)
    mlflow.lightgbm.save_model(lclf, out / "lgb_classifier_skops", pip_requirements=REQS)
    lreg = lgb.LGBMRegressor(n_estimators=5, verbose=-1).fit(X, X["f3"])
    mlflow.lightgbm.save_model(lreg, out / "lgb_regressor_pickle", serialization_format="cloudpickle",
                               pip_requirements=REQS)
    expected = {}
    for name in sys.argv[2:]:
        expected[name] = np.asarray(mlflow.pyfunc.load_model(str(out / name)).predict(X)).tolist()
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

    out = Path(sys.argv[1])
    X = pd.DataFrame(np.load(out / "X.npy"), columns=["f0", "f1", "f2", "f3"])
    got = {}
    for name in sys.argv[2:]:
        # pickle-free: XGBoost's JSON/UBJSON and LightGBM's text; MLflow's sklearn-API LightGBM is
        # skops (trusting the types its MLmodel lists needs pickles allowed) or cloudpickle
        model = shipyard.pyfunc.load_model(out / name, allow_pickle=name.startswith("lgb_") and name != "lgb_booster")
        got[name] = {"predict": np.asarray(model.predict(X)).tolist(), "class": type(model.backend.model).__name__}
    got["mlflow_imported"] = any(m == "mlflow" or m.startswith("mlflow.") for m in sys.modules)
    print(json.dumps(got))
    """
)


@pytest.fixture(scope="module")
def mlflow_dirs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mlflow-trees")
    proc = subprocess.run(
        [sys.executable, "-c", SAVE_WITH_MLFLOW, str(out), *MLFLOW_DIRS], cwd=out, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_mlflow_saved_tree_dirs_load_without_mlflow_and_predict_the_same(mlflow_dirs: Path) -> None:
    expected = json.loads((mlflow_dirs / "expected.json").read_text())
    proc = subprocess.run(
        [sys.executable, "-c", LOAD_WITHOUT_MLFLOW, str(mlflow_dirs), *MLFLOW_DIRS],
        cwd=mlflow_dirs,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["mlflow_imported"] is False
    for name in MLFLOW_DIRS:
        np.testing.assert_array_equal(got[name]["predict"], expected[name], err_msg=name)
    assert got["xgb_classifier_json"]["class"] == "XGBClassifier"
    assert got["lgb_classifier_skops"]["class"] == "LGBMClassifier"
    assert got["lgb_booster"]["class"] == "Booster"


def test_mlflow_pickled_lightgbm_model_is_refused_without_allow_pickle(mlflow_dirs: Path) -> None:
    with pytest.raises(shipyard.exceptions.UnsafeModelRefused, match="model.pkl"):
        shipyard.pyfunc.load_model(mlflow_dirs / "lgb_regressor_pickle", allow_pickle=False)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    return pd.DataFrame(rng.normal(size=(80, 4)), columns=COLUMNS)


def tree_model(kind: str, X: pd.DataFrame) -> Any:
    y = (X["f0"] - X["f2"] > 0).astype(int).to_numpy()
    if kind == "xgb_booster":
        return xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(X, label=y), 5)
    if kind == "xgb_regressor":
        return xgb.XGBRegressor(n_estimators=5).fit(X, X["f1"])
    if kind == "lgb_booster":
        return lgb.train({"objective": "regression", "verbose": -1}, lgb.Dataset(X, label=X["f1"]), 5)
    return lgb.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, y)


def own_predict(model: Any, X: pd.DataFrame) -> np.ndarray:
    return np.asarray(model.predict(xgb.DMatrix(X)) if isinstance(model, xgb.Booster) else model.predict(X))


def save(kind: str, model: Any, path: Path, X: pd.DataFrame) -> None:
    flavor = shipyard.xgboost if kind.startswith("xgb") else shipyard.lightgbm
    flavor.save_model(model, path, input_example=X.head(3))


@pytest.mark.parametrize("kind", ["xgb_booster", "xgb_regressor", "lgb_booster", "lgb_classifier"])
def test_shipyard_tree_dirs_load_in_mlflow_and_match(kind: str, frame: pd.DataFrame, tmp_path: Path) -> None:
    model = tree_model(kind, frame)
    save(kind, model, tmp_path / kind, frame)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mlflow warns from inside itself (its type hints, pandas)
        import mlflow.pyfunc

        theirs = mlflow.pyfunc.load_model(str(tmp_path / kind))
        assert theirs.loader_module.startswith("shipyard.flavors.")
        predicted = theirs.predict(frame)
    np.testing.assert_array_equal(np.asarray(predicted), own_predict(model, frame))


@pytest.mark.parametrize("kind", ["xgb_booster", "lgb_classifier"])
def test_served_tree_models_answer_invocations_and_v2(
    kind: str, frame: pd.DataFrame, tmp_path: Path, runtime_helpers: Any
) -> None:
    model = tree_model(kind, frame)
    path = tmp_path / kind
    save(kind, model, path, frame)
    rows = frame.head(6)
    expected = own_predict(model, rows)
    with runtime_helpers.shipyard_server(path, tmp_path) as server:
        split = {"dataframe_split": {"columns": COLUMNS, "data": rows.to_numpy().tolist()}}
        answer = httpx.post(server.url + "/invocations", json=split, timeout=30)
        assert answer.status_code == 200, answer.text
        got = answer.json()["predictions"]
        if expected.dtype.kind == "f":
            np.testing.assert_allclose(got, expected, rtol=1e-6)
        else:
            np.testing.assert_array_equal(got, expected)
        bad = httpx.post(server.url + "/invocations", json={"dataframe_split": {"columns": ["f0"], "data": [[1.0]]}})
        assert bad.status_code == 400 and "f1" in bad.json()["message"]
        tensor = {"name": "input", "datatype": "FP64", "shape": [6, 4], "data": rows.to_numpy().ravel().tolist()}
        v2 = httpx.post(server.url + f"/v2/models/{kind}/infer", json={"inputs": [tensor]}, timeout=30)
        assert v2.status_code == 200, v2.text
        (output,) = v2.json()["outputs"]
        assert output["shape"][0] == 6
        if expected.dtype.kind == "f":
            np.testing.assert_allclose(output["data"], expected.ravel(), rtol=1e-6)
        else:
            np.testing.assert_array_equal(output["data"], expected.ravel())
