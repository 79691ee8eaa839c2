"""`input_example.json` and `serving_input_example.json`, in MLflow's formats.

The serving example is a body ready to POST to `/invocations`: `dataframe_split` for tables,
`inputs` for tensors, plus `params` when the example carries them.

NOTE: pandas is imported inside the writing functions, not at the top: `mlmodel` reads examples
through this module, and the tracking server reads MLmodel files without loading pandas/pyarrow.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from shipyard.exceptions import InvalidInput

INPUT_EXAMPLE_FILE = "input_example.json"
SERVING_INPUT_EXAMPLE_FILE = "serving_input_example.json"


def split_example(example: Any) -> tuple[Any, dict[str, Any] | None]:
    """(data, params): an example may be `(data, params)` like MLflow's."""
    if isinstance(example, tuple) and len(example) == 2 and isinstance(example[1], dict):
        return example[0], example[1]
    return example, None


def normalize_example(data: Any) -> Any:
    """Records, dicts of scalars/lists and lists of scalars become a DataFrame or ndarray."""
    import pandas as pd

    if isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
        return pd.DataFrame.from_records(data)
    if isinstance(data, dict) and not all(isinstance(v, np.ndarray) for v in data.values()):
        return pd.DataFrame({k: v if isinstance(v, (list, tuple)) else [v] for k, v in data.items()})
    if isinstance(data, (list, tuple)):
        return np.asarray(data)
    if isinstance(data, pd.Series):
        return data.to_frame()
    return data


def _jsonable(value: Any) -> Any:
    import pandas as pd

    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()] if value.dtype.kind in "OSMf" else value.tolist()
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date)):
        return value.isoformat()
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def write_input_example(model_dir: Path, example: Any) -> dict[str, Any]:
    """Write both example files; returns the MLmodel `saved_input_example_info`."""
    import pandas as pd

    data, params = split_example(example)
    data = normalize_example(data)
    info: dict[str, Any] = {
        "artifact_path": INPUT_EXAMPLE_FILE,
        "serving_input_path": SERVING_INPUT_EXAMPLE_FILE,
    }
    if isinstance(data, pd.DataFrame):
        payload: Any = {
            "columns": [str(c) for c in data.columns],
            "data": [_jsonable(list(row)) for row in data.itertuples(index=False, name=None)],
        }
        serving: dict[str, Any] = {"dataframe_split": payload}
        info.update(type="dataframe", pandas_orient="split")
    elif isinstance(data, np.ndarray):
        payload = _jsonable(data)
        serving = {"inputs": payload}
        info["type"] = "ndarray"
    elif isinstance(data, dict):
        payload = {str(k): _jsonable(np.asarray(v)) for k, v in data.items()}
        serving = {"inputs": payload}
        info["type"] = "ndarray"
    else:
        raise InvalidInput(
            f"input_example of type {type(data).__name__} is not supported; use a DataFrame, "
            "numpy array, dict of arrays, list of records, or (data, params)"
        )
    try:
        json.dumps(payload)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"input_example cannot be written as JSON: {exc}") from exc
    if params:
        payload_params = _jsonable(params)
        serving["params"] = payload_params
        # MLflow's layout: the data under "inputs", and the MLmodel's info says "params": "true".
        (model_dir / INPUT_EXAMPLE_FILE).write_text(json.dumps({"inputs": payload, "params": payload_params}))
        info["params"] = "true"
    else:
        (model_dir / INPUT_EXAMPLE_FILE).write_text(json.dumps(payload))
    (model_dir / SERVING_INPUT_EXAMPLE_FILE).write_text(json.dumps(serving, indent=2))
    return info


def has_example_params(info: dict[str, Any]) -> bool:
    """Whether the example file holds params beside the data (MLflow's `"params": "true"`)."""
    return bool(info.get("params") or info.get("params_included"))


def read_input_example(model_dir: Path, info: dict[str, Any] | None) -> Any | None:
    """The saved example as JSON-decoded data: a DataFrame for tables, lists for tensors
    (lists keep JSON parse semantics when enforced against a float32/int32 schema)."""
    if not info or not info.get("artifact_path"):
        return None
    path = model_dir / info["artifact_path"]
    if not path.is_file():
        return None
    raw = json.loads(path.read_text())
    if has_example_params(info) and isinstance(raw, dict):
        # NOTE: directories saved by earlier Shipyard builds hold {"data": ..., "params": ...}
        # and "params_included"; they keep loading.
        raw = raw["inputs"] if "inputs" in raw else raw.get("data")
    if info.get("type") == "dataframe":
        if isinstance(raw, dict) and "columns" in raw:
            return {c: [row[i] for row in raw["data"]] for i, c in enumerate(raw["columns"])}
        return raw
    return raw


__all__ = [
    "INPUT_EXAMPLE_FILE",
    "SERVING_INPUT_EXAMPLE_FILE",
    "has_example_params",
    "normalize_example",
    "read_input_example",
    "split_example",
    "write_input_example",
]
