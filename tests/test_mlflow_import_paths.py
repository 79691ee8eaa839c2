"""MLflow's import paths, written as MLflow code writes them, reach Shipyard's own classes."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import typing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import shipyard

ROOT = Path(__file__).resolve().parents[1]


def test_models_paths() -> None:
    from shipyard.models import Model, ModelInputExample, ModelSignature, infer_signature, set_signature
    from shipyard.models.signature import infer_signature as infer_from_submodule
    from shipyard.models.signature import set_signature as set_from_submodule

    frame = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
    signature = infer_signature(frame, np.array([0, 1]))
    assert isinstance(signature, ModelSignature)
    assert [(s.name, s.type) for s in signature.inputs.inputs] == [("a", "double"), ("b", "string")]
    assert infer_from_submodule is infer_signature and set_from_submodule is set_signature
    assert Model is shipyard.flavors.Model
    assert {pd.DataFrame, np.ndarray, str, bytes} <= set(typing.get_args(ModelInputExample))
    assert shipyard.models.signature.ModelSignature is ModelSignature


def test_types_paths() -> None:
    from shipyard.types import DataType
    from shipyard.types.schema import ColSpec, ParamSchema, ParamSpec, Schema, TensorSpec

    schema = Schema([ColSpec(DataType.double, "x"), ColSpec("string", "y", required=False)])
    assert schema.to_dict() == [
        {"type": "double", "name": "x", "required": True},
        {"type": "string", "name": "y", "required": False},
    ]
    assert ColSpec(DataType.long, "n") == ColSpec("long", "n")
    assert DataType.double.to_numpy() == np.dtype(np.float64)
    assert TensorSpec(np.dtype(np.float32), (-1, 4), "t").shape == (-1, 4)
    assert ParamSchema([ParamSpec("k", DataType.integer, 3)]).params[0].type == "integer"
    assert shipyard.types.Schema is Schema and shipyard.types.schema.DataType is DataType


def test_data_type_names_are_the_signature_types() -> None:
    from shipyard.flavors.signature import COLUMN_TYPES
    from shipyard.types import DataType

    assert [t.value for t in DataType] == list(COLUMN_TYPES)


def test_entities_paths() -> None:
    from shipyard.entities import Experiment, LifecycleStage, Metric, Param, Run, RunStatus, RunTag, ViewType
    from shipyard.entities.model_registry import ModelVersion, RegisteredModel

    assert Run is shipyard.tracking.Run and Experiment is shipyard.tracking.Experiment
    assert Metric("loss", 0.5, 1, 0).key == "loss" and Param("lr", "0.1").value == "0.1"
    assert RunTag("k", "v").value == "v"
    assert (ViewType.ACTIVE_ONLY, LifecycleStage.ACTIVE, RunStatus.FINISHED) == (1, "active", "FINISHED")
    assert ModelVersion is shipyard.registry.ModelVersion and RegisteredModel is shipyard.registry.RegisteredModel


def test_mlflow_client_and_exception(tmp_path: Path) -> None:
    from shipyard.exceptions import InvalidInput, MlflowException, ShipyardError

    assert shipyard.MlflowClient is shipyard.Client and shipyard.tracking.MlflowClient is shipyard.Client
    client = shipyard.MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'm.db'}")
    experiment_id = client.create_experiment("paths")
    assert client.get_experiment(experiment_id).name == "paths"
    assert MlflowException is ShipyardError
    try:
        client.create_experiment("")
    except shipyard.exceptions.MlflowException as e:
        assert isinstance(e, InvalidInput)
        assert e.error_code == "INVALID_PARAMETER_VALUE"
    else:
        pytest.fail("an empty experiment name was accepted")


@pytest.mark.parametrize("code", ["import json, enum, types", "import shipyard.types, types"])
def test_the_root_folders_do_not_shadow_the_standard_library(code: str) -> None:
    """NOTE: `types/` sits at the repository root, which is sys.path[0] for `python -c` run there."""
    out = subprocess.run(
        [sys.executable, "-c", f"{code}; print(types.__file__)"], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert Path(out.stdout.strip()).parent == Path(sysconfig.get_paths()["stdlib"])


def test_a_venv_can_be_made_from_the_repository_root(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "venv")],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    assert (tmp_path / "venv" / "bin" / "python").exists()
