"""The README's training script (examples/train.py) runs on the embedded default, and everything
it logged reads back through `Client` and `search_runs`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

import shipyard

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "train.py"


def test_readme_shows_the_example_script() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Tracking", 1)[1]
    block = re.search(r"```python\n(.*?)```", section, re.S)
    assert block, "the README's Tracking section has no python block"
    body = SCRIPT.read_text().split('"""', 2)[2].lstrip("\n")
    assert block.group(1) == body


def test_example_script_logs_everything_readable(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, str(SCRIPT)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    run_id = re.search(r"run_id=(\w+)", out.stdout).group(1)  # type: ignore[union-attr]
    assert (tmp_path / "shipyard.db").is_file() and (tmp_path / "shipyard-artifacts").is_dir()

    client = shipyard.Client(f"sqlite:///{tmp_path / 'shipyard.db'}")
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "sgd-logistic"
    assert run.data.params == {"alpha": "0.001", "epochs": "20", "random_state": "7"}
    assert set(run.data.metrics) == {"train_loss", "test_accuracy"}
    assert run.data.tags["mlflow.source.name"] == str(SCRIPT)
    history = client.get_metric_history(run_id, "train_loss")
    assert [m.step for m in history] == list(range(20))

    paths = {f.path for f in client.list_artifacts(run_id)}
    assert paths == {"summary.txt", "reports", "confusion_matrix.png", "model"}
    assert "accuracy" in Path(client.download_artifacts(run_id, "summary.txt", tmp_path / "dl")).read_text()
    html = Path(client.download_artifacts(run_id, "reports/report.html", tmp_path / "dl"))
    assert html.read_text().startswith("<html>")
    with Image.open(client.download_artifacts(run_id, "confusion_matrix.png", tmp_path / "dl")) as image:
        assert image.size == (3, 3)

    experiment = client.get_experiment_by_name("iris")
    assert experiment is not None
    shipyard.set_tracking_uri(client.tracking_uri)
    try:
        frame = shipyard.search_runs(
            [experiment.experiment_id], filter_string="metrics.test_accuracy > 0.5 AND params.epochs = '20'"
        )
        model = shipyard.pyfunc.load_model(f"runs:/{run_id}/model")
    finally:
        shipyard.set_tracking_uri(None)
    assert frame["run_id"].tolist() == [run_id]
    assert frame["tags.mlflow.runName"].tolist() == ["sgd-logistic"]
    from sklearn.datasets import load_iris

    features, _ = load_iris(return_X_y=True, as_frame=True)
    predictions = np.asarray(model.predict(features.head(20))).ravel()
    assert predictions.shape == (20,)
    assert set(predictions) <= {0, 1, 2}
