"""autolog's options: MLflow's names, order and defaults; bad values and unsupported options are
clear errors; libraries imported after `autolog()` are patched on import."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mlflow
import mlflow.pytorch
import mlflow.sklearn
import pytest

import shipyard
import shipyard.pytorch
import shipyard.sklearn
from shipyard.exceptions import InvalidInput

PAIRS = [
    (shipyard.autolog, mlflow.autolog),
    (shipyard.sklearn.autolog, mlflow.sklearn.autolog),
    (shipyard.pytorch.autolog, mlflow.pytorch.autolog),
]
SHIPYARD_DEFAULTS = {
    "log_datasets": False,  # Shipyard's default: datasets are recorded only when asked
    "log_traces": False,  # no traces either
    "checkpoint": False,  # Lightning checkpoints are not logged
}


@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=["autolog", "sklearn", "pytorch"])
def test_mlflows_parameters_in_mlflows_order(ours: Callable[..., Any], theirs: Callable[..., Any]) -> None:
    mine = inspect.signature(ours).parameters
    reference = inspect.signature(theirs).parameters
    positional = [n for n, p in mine.items() if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    assert positional == list(reference)
    for name, parameter in reference.items():
        assert mine[name].default == SHIPYARD_DEFAULTS.get(name, parameter.default), name


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: shipyard.autolog(log_datasets="yes"), "autolog: log_datasets must be True or False, got 'yes'"),
        (lambda: shipyard.sklearn.autolog(log_datasets=1), "sklearn.autolog: log_datasets must be True or False"),
        (lambda: shipyard.pytorch.autolog(log_datasets=None), "pytorch.autolog: log_datasets must be True or False"),
        (lambda: shipyard.autolog(log_traces=True), "log_traces=True is not supported"),
        (lambda: shipyard.autolog(exclude_flavors=["keras"]), "exclude_flavors names keras.*allowed: sklearn, pytorch"),
        (lambda: shipyard.autolog(silent="yes"), "silent must be True or False, got 'yes'"),
        (lambda: shipyard.autolog(extra_tags=["a"]), "extra_tags must be a dict"),
        (lambda: shipyard.sklearn.autolog(max_tuning_runs=-1), "max_tuning_runs must be None or an integer >= 0"),
        (lambda: shipyard.sklearn.autolog(serialization_format="joblib"), "serialization_format 'joblib'.*allowed"),
        (lambda: shipyard.pytorch.autolog(log_every_n_epoch=0), "log_every_n_epoch must be None or an integer >= 1"),
        (lambda: shipyard.pytorch.autolog(checkpoint=True), "checkpoint=True is not supported"),
        (lambda: shipyard.sklearn.autolog(registered_model_name=""), "registered_model_name must be a non-empty"),
    ],
)
def test_bad_or_unsupported_options_are_refused(
    tracking: shipyard.Client, call: Callable[[], None], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        call()


def test_exclude_flavors_leaves_that_library_alone(tracking: shipyard.Client) -> None:
    from sklearn.linear_model import LogisticRegression

    before = vars(LogisticRegression)["fit"]
    shipyard.autolog(exclude_flavors=["sklearn"])
    assert vars(LogisticRegression)["fit"] is before


def test_a_library_imported_after_autolog_is_patched_on_import(tmp_path: Path) -> None:
    script = f"""
import json, sys
import shipyard
shipyard.set_tracking_uri("sqlite:///{tmp_path / "late.db"}")
shipyard.autolog()
imported_early = "sklearn" in sys.modules
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
X, y = load_iris(return_X_y=True)
LogisticRegression(max_iter=300).fit(X, y)
shipyard.flush_async_logging()
run = shipyard.Client().get_run(shipyard.last_active_run_id())
print(json.dumps({{"early": imported_early, "tag": run.data.tags.get("mlflow.autologging"),
                  "params": len(run.data.params)}}))
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"early": False, "tag": "sklearn", "params": result["params"]}
    assert result["params"] > 5
