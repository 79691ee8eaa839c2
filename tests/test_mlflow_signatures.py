"""Every public function Shipyard mirrors takes MLflow's parameters: same names, and for
positional-or-keyword ones the same positions, so MLflow code binds the same way. A parameter
Shipyard cannot honour is still accepted, listed in `shipyard.mlflow_names.UNSUPPORTED` with a
reason, and refused with that reason when a call asks for it.

The reference is the installed `mlflow` (a test dependency), read with `inspect.signature`.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import shipyard
import shipyard.models
from shipyard.exceptions import InvalidInput
from shipyard.mlflow_names import UNSUPPORTED, reason_for, refuses

with warnings.catch_warnings():
    # NOTE: importing mlflow.pyfunc warns about type hints in MLflow's own classes; not ours to fix.
    warnings.filterwarnings("ignore", message=".*Any type hint is inferred as AnyType", category=UserWarning)
    import mlflow
    import mlflow.lightgbm
    import mlflow.models
    import mlflow.onnx
    import mlflow.paddle
    import mlflow.pyfunc
    import mlflow.pytorch
    import mlflow.sklearn
    import mlflow.xgboost

FLAVOR_MODULES = {
    "sklearn": "sklearn",
    "onnx": "onnx",
    "pytorch": "pytorch",
    "pyfunc": "pyfunc",
    "paddle": "paddle",
    "xgboost": "xgboost",
    "lightgbm": "lightgbm",
}
NOT_MIRRORED = {"last_active_run_id"}
"""Root names with no MLflow function of that name to compare with (MLflow has last_active_run)."""


def mirrored() -> Iterator[tuple[str, Callable[..., Any], Callable[..., Any]]]:
    """(label, Shipyard's function, MLflow's) for every function Shipyard mirrors."""
    for ours, theirs in FLAVOR_MODULES.items():
        for fn in ("log_model", "save_model", "load_model"):
            yield f"{ours}.{fn}", getattr(getattr(shipyard, ours), fn), getattr(getattr(mlflow, theirs), fn)
    for name in shipyard.__all__:
        value = getattr(shipyard, name)
        if inspect.isfunction(value) and name not in NOT_MIRRORED:
            theirs = getattr(mlflow, name, None) or getattr(mlflow.models, name)
            yield name, value, theirs
    for name in ("infer_signature", "set_signature"):
        yield f"models.{name}", getattr(shipyard.models, name), getattr(mlflow.models, name)
    yield "pyfunc.spark_udf", shipyard.pyfunc.spark_udf, mlflow.pyfunc.spark_udf
    client = mlflow.MlflowClient
    for name, value in inspect.getmembers(shipyard.Client, inspect.isfunction):
        if (not name.startswith("_") or name == "__init__") and hasattr(client, name):
            yield f"Client.{name}", value, getattr(client, name)


MIRRORED = list(mirrored())
IDS = [label for label, _, _ in MIRRORED]


def refused(fn: Callable[..., Any]) -> tuple[str, ...]:
    return tuple(getattr(fn, "__shipyard_refuses__", ()))


def function_name(label: str) -> str:
    return label.rpartition(".")[2]


@pytest.mark.parametrize(("label", "ours", "theirs"), MIRRORED, ids=IDS)
def test_every_mlflow_parameter_is_accepted_in_its_place(
    label: str, ours: Callable[..., Any], theirs: Callable[..., Any]
) -> None:
    our_params = list(inspect.signature(ours).parameters.values())
    our_index = {p.name: i for i, p in enumerate(our_params)}
    problems = []
    for index, param in enumerate(inspect.signature(theirs).parameters.values()):
        if param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
            continue
        if param.name not in our_index:
            reason = reason_for(function_name(label), param.name)
            problems.append(f"{param.name!r} is not accepted" + (f" (listed: {reason})" if reason else ""))
            continue
        mine = our_params[our_index[param.name]]
        if param.kind is param.POSITIONAL_OR_KEYWORD and (
            mine.kind is not param.POSITIONAL_OR_KEYWORD or our_index[param.name] != index
        ):
            problems.append(
                f"{param.name!r} is MLflow's positional parameter {index}; Shipyard has it at "
                f"{our_index[param.name]} as {mine.kind.description}"
            )
        if param.kind is param.KEYWORD_ONLY and mine.kind not in (param.KEYWORD_ONLY, param.POSITIONAL_OR_KEYWORD):
            problems.append(f"{param.name!r} cannot be passed by keyword")
    assert not problems, f"{label} vs mlflow: " + "; ".join(problems)


@pytest.mark.parametrize(("label", "ours", "theirs"), MIRRORED, ids=IDS)
def test_refused_parameters_are_mlflows_and_have_a_reason(
    label: str, ours: Callable[..., Any], theirs: Callable[..., Any]
) -> None:
    theirs_names = set(inspect.signature(theirs).parameters)
    for name in refused(ours):
        assert name in theirs_names, f"{label} refuses {name!r}, which MLflow's function does not have"
        reason = reason_for(function_name(label), name)
        assert reason and len(reason) > 20, f"{label}: {name!r} has no written reason"


def test_every_unsupported_entry_is_refused_somewhere() -> None:
    """No stale rows: each entry of the table names a parameter some mirrored function refuses."""
    used = {
        key
        for label, ours, _ in MIRRORED
        for name in refused(ours)
        for key in (f"{function_name(label)}.{name}", name)
        if key in UNSUPPORTED
    }
    assert sorted(set(UNSUPPORTED) - used) == []


REFUSALS = [(label, ours, name) for label, ours, _ in MIRRORED for name in refused(ours)]


@pytest.mark.parametrize(("label", "ours", "name"), REFUSALS, ids=[f"{lbl}-{n}" for lbl, _, n in REFUSALS])
def test_an_unsupported_parameter_asked_for_is_a_clear_error(label: str, ours: Callable[..., Any], name: str) -> None:
    """The refusal comes before the function does anything, so the required arguments can be None."""
    params = inspect.signature(ours).parameters
    required = {
        p.name: None
        for p in params.values()
        if p.default is p.empty and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name != name
    }
    with pytest.raises(InvalidInput) as caught:
        ours(**required, **{name: "asked-for"})
    message = str(caught.value)
    assert f"parameter {name!r} is not supported" in message
    assert reason_for(function_name(label), name) in message


def test_a_refused_parameter_given_by_position_is_refused_too() -> None:
    """MLflow's third positional parameter of sklearn.log_model is conda_env."""
    with pytest.raises(InvalidInput, match="'conda_env' is not supported by Shipyard: Shipyard writes the environment"):
        shipyard.sklearn.log_model(None, "model", {"dependencies": ["scikit-learn"]})


def test_default_none_false_and_empty_values_ask_for_nothing() -> None:
    """`streamable=False`, `tags={}`, `step=0`: what MLflow code passes when it means "off"."""

    @refuses("streamable", "tags", "step")
    def log_model(streamable: bool | None = None, tags: dict[str, str] | None = None, step: int = 0) -> str:
        return "called"

    assert log_model(False, {}, 0) == "called"
    assert log_model(streamable=None, tags=None, step=0) == "called"
    with pytest.raises(InvalidInput, match="'step' is not supported"):
        log_model(step=3)
    with pytest.raises(InvalidInput, match="'tags' is not supported"):
        log_model(tags={"k": "v"})
