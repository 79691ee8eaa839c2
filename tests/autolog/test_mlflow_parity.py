"""`import shipyard as mlflow; mlflow.autolog()` records what mlflow records, for scripts written the
way MLflow's autolog documentation writes them. Each runs in a fresh interpreter with `import
mlflow` or `import shipyard as mlflow` on its first line, then prints a JSON summary of every run
in its store (the same code for both).

Not compared: the artifacts MLflow adds beside the model (estimator.html, a confusion-matrix
PNG) and where the model goes (MLflow 3: a LoggedModel; Shipyard: the run's `model` artifact)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SUMMARY = """
import json
def _summary():
    client = mlflow.MlflowClient()
    out = []
    for run in client.search_runs(["0"]):
        tags = run.data.tags
        out.append({
            "params": dict(run.data.params),
            "metrics": dict(run.data.metrics),
            "tags": {k: tags[k] for k in ("estimator_name", "estimator_class", "mlflow.autologging") if k in tags},
            "child": "mlflow.parentRunId" in tags,
            "status": run.info.status,
            "cv_results": any(a.path == "cv_results.csv" for a in client.list_artifacts(run.info.run_id)),
            "history": {k: [[m.step, m.value] for m in client.get_metric_history(run.info.run_id, k)]
                        for k in run.data.metrics},
        })
    out.sort(key=lambda r: (r["tags"].get("estimator_name", ""), r["child"], json.dumps(r["params"], sort_keys=True)))
    print("SUMMARY " + json.dumps(out))
"""

SKLEARN = """
import sklearn.metrics
from sklearn import svm
from sklearn.datasets import load_diabetes, load_iris
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

mlflow.autolog()

# fit outside a run: autolog starts and ends one
X, y = load_iris(return_X_y=True)
LogisticRegression(max_iter=300).fit(X, y)

# fit inside a run, then post-training metrics on a test split
db = load_diabetes()
X_train, X_test, y_train, y_test = train_test_split(db.data, db.target, random_state=0)
with mlflow.start_run():
    rf = RandomForestRegressor(n_estimators=10, max_depth=6, max_features=3, random_state=0)
    rf.fit(X_train, y_train)
    predictions = rf.predict(X_test)
    sklearn.metrics.mean_squared_error(y_test, predictions)
    sklearn.metrics.r2_score(y_test, predictions)

# a Pipeline logs once
Pipeline([("scaler", StandardScaler()), ("lr", LogisticRegression())]).fit(X, y)

# a grid search: parent and children
with mlflow.start_run():
    parameters = {"kernel": ("linear", "rbf"), "C": [1, 10]}
    clf = GridSearchCV(svm.SVC(), parameters)
    clf.fit(X, y)
_summary()
"""

LIGHTNING = """
import lightning as L
import torch
from lightning.pytorch.callbacks import EarlyStopping
from torch.utils.data import DataLoader, TensorDataset
import warnings
warnings.simplefilter("ignore")

mlflow.autolog()
torch.manual_seed(0)

class Model(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Linear(4, 1)
    def forward(self, x):
        return self.net(x)
    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self(x), y)
        self.log("train_loss", loss, on_epoch=True, on_step=False)
        return loss
    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self(x), y))
    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=0.01)

x = torch.randn(64, 4)
data = DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=16)
trainer = L.Trainer(max_epochs=3, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                    enable_model_summary=False)
trainer.fit(Model(), data, data)
_summary()
"""


def _script(body: str, reference: bool) -> str:
    """The full script: the one import line that differs, the summary helper, the body."""
    first = "import mlflow" if reference else "import shipyard as mlflow"
    return first + "\n" + SUMMARY + body


def _record(body: str, reference: bool, folder: Path) -> list[dict[str, Any]]:
    folder.mkdir()
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'store.db'}", "PYTHONWARNINGS": "ignore"}
    env.pop("SHIPYARD_TRACKING_URI", None)
    done = subprocess.run(
        [sys.executable, "-c", _script(body, reference)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("SUMMARY "))
    runs: list[dict[str, Any]] = json.loads(line.removeprefix("SUMMARY "))
    return runs


def _same_numbers(ours: dict[str, float], theirs: dict[str, float]) -> None:
    assert sorted(ours) == sorted(theirs)
    for key, value in theirs.items():
        assert ours[key] == pytest.approx(value, rel=1e-6, abs=1e-9), key


def test_sklearn_scripts_record_what_mlflow_records(tmp_path: Path) -> None:
    theirs = _record(SKLEARN, True, tmp_path / "mlflow")
    ours = _record(SKLEARN, False, tmp_path / "shipyard")
    assert len(theirs) == 1 + 1 + 1 + 1 + 4  # LR, forest, pipeline, search + its 4 candidates
    assert len(ours) == len(theirs)
    for mine, reference in zip(ours, theirs, strict=True):
        assert mine["tags"] == reference["tags"]
        assert mine["params"] == reference["params"]
        assert (mine["child"], mine["status"], mine["cv_results"]) == (
            reference["child"],
            reference["status"],
            reference["cv_results"],
        )
        # fit times of a search's candidates are measurements, not results: compare names only
        timed = {k for k in reference["metrics"] if k.endswith(("_fit_time", "_score_time"))}
        _same_numbers(
            {k: v for k, v in mine["metrics"].items() if k not in timed},
            {k: v for k, v in reference["metrics"].items() if k not in timed},
        )
        assert timed <= set(mine["metrics"])
    forest = next(r for r in ours if r["tags"].get("estimator_name") == "RandomForestRegressor")
    assert {"mean_squared_error_X_test", "r2_score_X_test"} <= set(forest["metrics"])


def test_a_lightning_trainer_records_what_mlflow_records(tmp_path: Path) -> None:
    theirs = _record(LIGHTNING, True, tmp_path / "mlflow")
    ours = _record(LIGHTNING, False, tmp_path / "shipyard")
    assert len(ours) == len(theirs) == 1
    mine, reference = ours[0], theirs[0]
    assert mine["tags"] == reference["tags"] == {"mlflow.autologging": "pytorch"}
    # Shipyard adds the trainer's settings (precision, devices, accelerator); MLflow's all match
    assert {k: mine["params"].get(k) for k in reference["params"]} == reference["params"]
    assert set(mine["params"]) - set(reference["params"]) == {"precision", "devices", "accelerator"}
    _same_numbers(mine["metrics"], reference["metrics"])
    for key, history in reference["history"].items():
        assert [step for step, _ in mine["history"][key]] == [step for step, _ in history], key
        assert [v for _, v in mine["history"][key]] == pytest.approx([v for _, v in history], rel=1e-5)


TREES = """
import numpy as np, xgboost as xgb, lightgbm as lgb
mlflow.xgboost.autolog(log_datasets=False)
mlflow.lightgbm.autolog(log_datasets=False)
rng = np.random.default_rng(0)
X = rng.normal(size=(200, 4)); y = (X[:, 0] + X[:, 1] > 0).astype(int)
train, valid = xgb.DMatrix(X[:150], label=y[:150]), xgb.DMatrix(X[150:], label=y[150:])
xgb.train({"objective": "binary:logistic", "max_depth": 2, "eval_metric": ["logloss", "error"]}, train,
          num_boost_round=30, evals=[(train, "train"), (valid, "valid")], early_stopping_rounds=3,
          verbose_eval=False)
ltrain = lgb.Dataset(X[:150], label=y[:150]); lvalid = lgb.Dataset(X[150:], label=y[150:], reference=ltrain)
lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 4}, ltrain, num_boost_round=30,
          valid_sets=[lvalid], valid_names=["valid"], callbacks=[lgb.early_stopping(3, verbose=False)])
_summary()
"""


def test_xgboost_and_lightgbm_train_record_what_mlflow_records(tmp_path: Path) -> None:
    theirs = _record(TREES, True, tmp_path / "mlflow")
    ours = _record(TREES, False, tmp_path / "shipyard")
    assert len(ours) == len(theirs) == 2
    by_integration = {r["tags"]["mlflow.autologging"]: r for r in ours}
    for reference in theirs:
        mine = by_integration[reference["tags"]["mlflow.autologging"]]
        assert mine["params"] == reference["params"]
        _same_numbers(mine["metrics"], reference["metrics"])
        for key, history in reference["history"].items():
            assert [step for step, _ in mine["history"][key]] == [step for step, _ in history], key
            assert [v for _, v in mine["history"][key]] == pytest.approx([v for _, v in history], rel=1e-6)
    assert {"stopped_iteration", "best_iteration", "valid-logloss"} <= set(by_integration["xgboost"]["metrics"])
    assert {"stopped_iteration", "best_iteration", "valid-binary_logloss"} <= set(by_integration["lightgbm"]["metrics"])
