"""Shipyard's stand-ins for the few MLflow names that MLflow's python-model pickles reference.

`mlflow_pickle.MLFLOW_NAMES` maps each MLflow name to one of these (or to Shipyard's own
`PythonModel` / `PythonModelContext`), so those pickles load without `mlflow`. What a real
MLflow 3 pickle references besides the model's base class:
- `mlflow.models.signature._TypeHints`: the `_predict_type_hints` MLflow caches on the object;
- `mlflow.pyfunc.model._FunctionPythonModel`: `python_model=<a function>`;
- `mlflow.pyfunc.utils.data_validation.FuncInfo`, `._validate_model_input` and
  `mlflow.exceptions.MlflowException`: globals of the wrapper MLflow puts around a type-hinted
  `predict` (its closure is pickled by value).
"""

from __future__ import annotations

import typing
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from shipyard.exceptions import InvalidInput
from shipyard.flavors.python_model import PythonModel


class TypeHints:
    """MLflow's `_TypeHints`: the input and output type hints of `predict`."""

    def __init__(self, input_: Any = None, output: Any = None) -> None:
        self.input = input_
        self.output = output

    def __repr__(self) -> str:
        return f"<input: {self.input}, output: {self.output}>"


class FuncInfo(NamedTuple):
    """MLflow's `FuncInfo`: the input type hint of a wrapped `predict` and its parameter name."""

    input_type_hint: Any
    input_param_name: str


class FunctionPythonModel(PythonModel):
    """MLflow's `_FunctionPythonModel`: a plain function saved as a python model."""

    def __init__(self, func: Any, signature: Any = None) -> None:
        self.func = func
        self.signature = signature

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return self.func(model_input)


def _plain(value: Any) -> Any:
    """Numpy values inside a list become Python ones (what MLflow's `_sanitize_data` does)."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def convert_to_type_hint(data: Any, type_hint: Any) -> Any:
    """MLflow's rule for a DataFrame given to a type-hinted predict: a `list[...]` hint gets the
    first column as a list (`list[dict]` gets the rows as records); `pd.DataFrame` passes."""
    if not isinstance(data, pd.DataFrame) or type_hint is pd.DataFrame:
        return data
    if typing.get_origin(type_hint) is not list:
        raise InvalidInput(
            f"predict's type hint {type_hint!r} does not take a table; only list[...] and "
            "pandas.DataFrame hints accept DataFrame input"
        )
    (element,) = typing.get_args(type_hint) or (Any,)
    if element is dict or typing.get_origin(element) is dict:
        labels: list[Any] = list(data.columns)  # NOTE: pandas-stubs types labels as str; 0 is int
        one_column_of_dicts = labels == [0]  # MLflow's case: each row is a dict
        rows = data.iloc[:, 0].tolist() if one_column_of_dicts else data.to_dict(orient="records")
        return _plain(rows)
    return _plain(data.iloc[:, 0].tolist())


def validate_model_input(
    args: tuple[Any, ...], kwargs: dict[str, Any], index: int, type_hint: Any, param_name: str
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """MLflow's `_validate_model_input`: convert the model input to what the hint asks for.

    NOTE: MLflow also validates the converted value against the hint with pydantic; Shipyard
    enforces the signature MLflow inferred from that hint at save time instead."""
    if param_name in kwargs:
        kwargs[param_name] = convert_to_type_hint(kwargs[param_name], type_hint)
    elif len(args) > index:
        args = (*args[:index], convert_to_type_hint(args[index], type_hint), *args[index + 1 :])
    return args, kwargs


__all__ = ["FuncInfo", "FunctionPythonModel", "TypeHints", "convert_to_type_hint", "validate_model_input"]
