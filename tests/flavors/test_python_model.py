"""Custom Python models: artifacts, code paths, context, params and the batchable flag."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

import shipyard
from shipyard import ColSpec, ModelSignature, ParamSchema, ParamSpec, Schema


def write_user_module(root: Path) -> Path:
    """A user's module, importable only through the model's code path."""
    pkg = root / "src"
    pkg.mkdir()
    (pkg / "scaler_model.py").write_text(
        textwrap.dedent(
            """
        from shipyard.pyfunc import PythonModel


        class Scaler(PythonModel):
            def load_context(self, context):
                with open(context.artifacts["factor"]) as fh:
                    self.factor = float(fh.read())

            def predict(self, context, model_input, params=None):
                shift = (params or {}).get("shift", 0.0)
                return model_input["v"].to_numpy() * self.factor + shift


        class WholeTable(PythonModel):
            batchable = False

            def predict(self, context, model_input, params=None):
                return [len(model_input)]
        """
        )
    )
    return pkg / "scaler_model.py"


def test_python_model_round_trip(tmp_path: Path) -> None:
    import importlib.util

    module_file = write_user_module(tmp_path)
    spec = importlib.util.spec_from_file_location("scaler_model", module_file)
    user = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(user)
    (tmp_path / "factor.txt").write_text("3")
    sig = ModelSignature(
        inputs=Schema([ColSpec("double", "v")]),
        params=ParamSchema([ParamSpec("shift", "double", 0.0)]),
    )
    shipyard.pyfunc.save_model(
        tmp_path / "m",
        python_model=user.Scaler(),
        artifacts={"factor": tmp_path / "factor.txt"},
        code_paths=[module_file],
        signature=sig,
        input_example=pd.DataFrame({"v": [1.0]}),
    )
    (tmp_path / "factor.txt").write_text("100")  # the model uses its own copy
    model = shipyard.pyfunc.load_model(tmp_path / "m")
    np.testing.assert_allclose(model.predict({"v": [1, 2]}), [3.0, 6.0])
    np.testing.assert_allclose(model.predict({"v": [1]}, params={"shift": 1}), [4.0])
    assert model.batchable
    assert (tmp_path / "m" / "code" / "scaler_model.py").is_file()
    assert shipyard.pyfunc.load_python_model(tmp_path / "m").factor == 3.0


def test_not_batchable_by_class_attribute_or_option(tmp_path: Path) -> None:
    import importlib.util

    module_file = write_user_module(tmp_path)
    spec = importlib.util.spec_from_file_location("scaler_model", module_file)
    user = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(user)
    sig = ModelSignature(inputs=Schema([ColSpec("double", "v")]))
    shipyard.pyfunc.save_model(tmp_path / "a", python_model=user.WholeTable(), code_paths=[module_file], signature=sig)
    assert not shipyard.pyfunc.load_model(tmp_path / "a").batchable
    (tmp_path / "f").write_text("1")
    shipyard.pyfunc.save_model(
        tmp_path / "b",
        python_model=user.Scaler(),
        artifacts={"factor": tmp_path / "f"},
        code_paths=[module_file],
        signature=sig,
        batchable=False,
    )
    assert not shipyard.pyfunc.load_model(tmp_path / "b").batchable
