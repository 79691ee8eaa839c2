"""MLflow-saved custom python models load and predict in Shipyard without mlflow installed.

The real mlflow saves the directories in a subprocess, from a script, so the classes live in
`__main__` and cloudpickle pickles them by value (the case a notebook or script gives). Shipyard
then loads them in subprocesses where `mlflow` is unimportable (`sys.modules["mlflow"] = None`
before anything is imported), in-process and behind `shipyard serve`; the predictions must be the
ones mlflow's own load gave. References the unpickler cannot map are errors naming them.
"""

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
import pandas as pd
import pytest

import shipyard

SAVE_WITH_MLFLOW = textwrap.dedent(
    """
    import json, sys, warnings
    warnings.simplefilter("ignore")
    from pathlib import Path
    import numpy as np, pandas as pd, mlflow

    out = Path(sys.argv[1])
    sys.path.insert(0, str(out / "src"))
    import helper  # a plain module, shipped with the model through code_paths
    import imports_mlflow  # a module that itself imports mlflow
    REQS = ["numpy"]  # explicit, so MLflow skips its slow requirement-inference subprocess
    FRAME = pd.DataFrame({"v": [1.0, 2.0]})


    class Affine(mlflow.pyfunc.PythonModel):
        def load_context(self, context):
            with open(context.artifacts["offset"]) as fh:
                self.offset = float(fh.read())
            self.scale = context.model_config["scale"]

        def predict(self, context, model_input, params=None):
            shift = (params or {}).get("shift", 0.0)
            return helper.affine(model_input["v"].to_numpy(), self.scale, self.offset) + shift


    class Upper(mlflow.pyfunc.PythonModel):
        def predict(self, model_input: list[str], params=None) -> list[str]:
            return [s.upper() + "!" for s in model_input]


    def tripled(model_input):
        return model_input["v"] * 3


    class HoldsSignature(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input


    class UsesModule(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return [mlflow.__version__] * len(model_input)


    from mlflow.models import ModelSignature
    from mlflow.types.schema import ColSpec, ParamSchema, ParamSpec, Schema
    sig = ModelSignature(inputs=Schema([ColSpec("double", "v")]), outputs=Schema([ColSpec("double")]),
                         params=ParamSchema([ParamSpec("shift", "double", 0.0)]))
    mlflow.pyfunc.save_model(out / "affine", python_model=Affine(), artifacts={"offset": str(out / "offset.txt")},
                             code_paths=[str(out / "src" / "helper.py")], model_config={"scale": 2.0},
                             signature=sig, input_example=FRAME, pip_requirements=REQS)
    mlflow.pyfunc.save_model(out / "upper", python_model=Upper(), input_example=["a"], pip_requirements=REQS)
    mlflow.pyfunc.save_model(out / "function", python_model=tripled, input_example=FRAME, pip_requirements=REQS)
    holds = HoldsSignature()
    holds.kept = ColSpec("double", "v")  # an attribute that is an MLflow object, by reference
    for name, obj in [("holds_signature", holds), ("uses_module", UsesModule()),
                      ("imports_mlflow", imports_mlflow.ByReference())]:
        mlflow.pyfunc.save_model(out / name, python_model=obj, code_paths=[str(out / "src" / "imports_mlflow.py")],
                                 signature=False, pip_requirements=REQS)

    frame = pd.DataFrame({"v": [1.0, 2.0, 3.5]})
    expected = {
        "affine": mlflow.pyfunc.load_model(str(out / "affine")).predict(frame).tolist(),
        "affine_shift": mlflow.pyfunc.load_model(str(out / "affine")).predict(frame, params={"shift": 1.0}).tolist(),
        "affine_scale_5": mlflow.pyfunc.load_model(str(out / "affine"), model_config={"scale": 5.0})
        .predict(frame).tolist(),
        "upper": mlflow.pyfunc.load_model(str(out / "upper")).predict(["ab", "c"]),
        "function": mlflow.pyfunc.load_model(str(out / "function")).predict(frame).tolist(),
    }
    (out / "expected.json").write_text(json.dumps(expected))
    """
)

LOAD_WITHOUT_MLFLOW = textwrap.dedent(
    """
    import sys
    sys.modules["mlflow"] = None  # before anything is imported: `import mlflow` now fails
    import json
    from pathlib import Path
    import numpy as np, pandas as pd
    import shipyard, shipyard.flavors

    out = Path(sys.argv[1])
    frame = pd.DataFrame({"v": [1.0, 2.0, 3.5]})
    affine = shipyard.pyfunc.load_model(out / "affine")
    got = {
        "affine": affine.predict(frame).tolist(),
        "affine_shift": affine.predict(frame, params={"shift": 1.0}).tolist(),
        # NOTE: the flavors-level load (the root facade's model_config is another part of #12).
        "affine_scale_5": shipyard.flavors.load_model(out / "affine", model_config={"scale": 5.0})
        .predict(frame).tolist(),
        "upper": shipyard.pyfunc.load_model(out / "upper").predict(["ab", "c"]),
        "function": shipyard.pyfunc.load_model(out / "function").predict(frame).tolist(),
        "base": type(affine.backend.model).__mro__[1].__module__,
    }
    for name in ("holds_signature", "uses_module", "imports_mlflow"):
        try:
            shipyard.pyfunc.load_model(out / name).predict(frame)
            got[name] = None
        except shipyard.exceptions.ShipyardError as exc:
            got[name] = type(exc).__name__ + ": " + str(exc)
    got["mlflow_imported"] = sorted(m for m, v in sys.modules.items() if m.startswith("mlflow") and v is not None)
    print(json.dumps(got))
    """
)

HELPER_MODULE = """
def affine(values, scale, offset):
    return values * scale + offset
"""

IMPORTS_MLFLOW_MODULE = """
import mlflow


class ByReference(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input
"""

BLOCK_MLFLOW_SITECUSTOMIZE = 'import sys\nsys.modules["mlflow"] = None  # shipyard serve runs without mlflow\n'


@pytest.fixture(scope="module")
def mlflow_saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mlflow-python-models")
    (out / "src").mkdir()
    (out / "src" / "helper.py").write_text(HELPER_MODULE)
    (out / "src" / "imports_mlflow.py").write_text(IMPORTS_MLFLOW_MODULE)
    (out / "offset.txt").write_text("0.5")
    proc = subprocess.run([sys.executable, "-c", SAVE_WITH_MLFLOW, str(out)], cwd=out, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def loaded_without_mlflow(mlflow_saved: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", LOAD_WITHOUT_MLFLOW, str(mlflow_saved)], cwd=mlflow_saved, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    got: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return got


def test_pickles_of_script_classes_reference_mlflow(mlflow_saved: Path) -> None:
    """The premise: the pickles name MLflow's classes (so plain unpickling needs mlflow)."""
    import pickletools

    for name, wanted in [
        ("affine", "PythonModel"),
        ("upper", "_validate_model_input"),
        ("function", "_FunctionPythonModel"),
    ]:
        data = (mlflow_saved / name / "python_model.pkl").read_bytes()
        strings = [arg for _, arg, _ in pickletools.genops(data) if isinstance(arg, str)]
        assert wanted in strings and any(s.startswith("mlflow.") for s in strings), name


def test_mlflow_python_models_predict_the_same_without_mlflow(
    mlflow_saved: Path, loaded_without_mlflow: dict[str, Any]
) -> None:
    expected = json.loads((mlflow_saved / "expected.json").read_text())
    got = loaded_without_mlflow
    assert got["mlflow_imported"] == []
    assert got["base"] == "shipyard.flavors.python_model"  # MLflow's PythonModel, mapped
    for name in ("affine", "affine_shift", "affine_scale_5", "function"):
        np.testing.assert_allclose(got[name], expected[name], err_msg=name)
    assert got["upper"] == expected["upper"] == ["AB!", "C!"]  # MLflow's type-hint wrapper, mapped


def test_unmapped_mlflow_references_are_clear_errors(loaded_without_mlflow: dict[str, Any]) -> None:
    got = loaded_without_mlflow
    # An MLflow class the unpickler has no equivalent for: named, with what it does map.
    assert got["holds_signature"].startswith("ModelLoadError: ")
    assert "mlflow.types.schema.ColSpec" in got["holds_signature"]
    assert "mlflow is not installed" in got["holds_signature"]
    assert "mlflow.pyfunc.model.PythonModel" in got["holds_signature"]
    # A method that uses the mlflow module itself (cloudpickle's subimport of 'mlflow').
    assert "the module 'mlflow' (a global of a pickled function)" in got["uses_module"]
    # A class pickled by reference from a code_paths module that imports mlflow.
    assert "imports_mlflow.ByReference" in got["imports_mlflow"]
    assert "which imports 'mlflow'" in got["imports_mlflow"]
    for name in ("holds_signature", "uses_module", "imports_mlflow"):
        assert "ModuleNotFoundError" not in got[name], got[name]


# Importing mlflow.pyfunc warns about type hints in MLflow's own classes; not ours to fix.
@pytest.mark.filterwarnings("ignore:.*Any type hint is inferred as AnyType:UserWarning")
def test_mapping_holds_where_mlflow_is_installed(mlflow_saved: Path) -> None:
    """Same classes, same numbers, in a process that has mlflow: one behaviour in both."""
    expected = json.loads((mlflow_saved / "expected.json").read_text())
    frame = pd.DataFrame({"v": [1.0, 2.0, 3.5]})
    model = shipyard.pyfunc.load_model(mlflow_saved / "affine")
    np.testing.assert_allclose(model.predict(frame), expected["affine"])
    assert isinstance(model.backend.model, shipyard.pyfunc.PythonModel)
    # A class that needs a real mlflow class loads with it where mlflow is there.
    held = shipyard.pyfunc.load_model(mlflow_saved / "holds_signature")
    assert type(held.backend.model.kept).__module__ == "mlflow.types.schema"


def test_model_config_override_names_unknown_keys(mlflow_saved: Path) -> None:
    with pytest.raises(
        shipyard.exceptions.InvalidInput, match=r"model_config: keys \['nope'\].*saved keys: \['scale'\]"
    ):
        shipyard.flavors.load_model(mlflow_saved / "affine", model_config={"nope": 1})


def test_serve_answers_with_mlflow_numbers_without_mlflow(
    mlflow_saved: Path, runtime_helpers: Any, tmp_path: Path
) -> None:
    expected = json.loads((mlflow_saved / "expected.json").read_text())
    blocker = tmp_path / "block-mlflow"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCK_MLFLOW_SITECUSTOMIZE)
    blocked = subprocess.run(
        [sys.executable, "-c", "import mlflow"], env={**os.environ, "PYTHONPATH": str(blocker)}, capture_output=True
    )
    assert blocked.returncode != 0  # the serve process below cannot import mlflow
    with runtime_helpers.shipyard_server(mlflow_saved / "affine", tmp_path, env={"PYTHONPATH": str(blocker)}) as server:
        body = {"dataframe_split": {"columns": ["v"], "data": [[1.0], [2.0], [3.5]]}}
        answer = httpx.post(server.url + "/invocations", json=body, timeout=30)
        assert answer.status_code == 200, answer.text
        np.testing.assert_allclose(answer.json()["predictions"], expected["affine"])
        shifted = httpx.post(server.url + "/invocations", json={**body, "params": {"shift": 1.0}}, timeout=30)
        np.testing.assert_allclose(shifted.json()["predictions"], expected["affine_shift"])
    with runtime_helpers.shipyard_server(mlflow_saved / "upper", tmp_path, env={"PYTHONPATH": str(blocker)}) as server:
        answer = httpx.post(server.url + "/invocations", json={"inputs": ["ab", "c"]}, timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == expected["upper"]


def test_type_hint_conversion_follows_mlflow() -> None:
    """The stand-in for MLflow's `_validate_model_input` converts tables as MLflow's does.

    NOTE: a `list[dict]` hint gives a map/object signature, which loads once the schema
    language has those types; the conversion is checked here directly until then."""
    from shipyard.flavors.mlflow_shims import convert_to_type_hint, validate_model_input

    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3, 4]})
    assert convert_to_type_hint(frame[["a"]], list[float]) == [1.0, 2.0]
    assert convert_to_type_hint(frame, list[dict[str, float]]) == [{"a": 1.0, "b": 3}, {"a": 2.0, "b": 4}]
    assert convert_to_type_hint(pd.DataFrame({0: [{"x": 1}]}), list[dict]) == [{"x": 1}]
    assert convert_to_type_hint(frame, pd.DataFrame) is frame
    assert convert_to_type_hint(["kept"], list[str]) == ["kept"]
    args, kwargs = validate_model_input(("ctx", frame[["b"]]), {}, 1, list[int], "model_input")
    assert args == ("ctx", [3, 4]) and kwargs == {}
    with pytest.raises(shipyard.exceptions.InvalidInput, match="type hint <class .dict.> does not take a table"):
        convert_to_type_hint(frame, dict)
