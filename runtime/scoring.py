"""The `/invocations` protocol: MLflow's scoring formats in, `{"predictions": ...}` out.

Request bodies (JSON, one format key plus optional `params`):
    dataframe_split   {"columns": [...], "data": [[...], ...], "index": [...]}
    dataframe_records [{"col": value, ...}, ...]
    instances         [row, ...] or [{"name": value, ...}, ...]
    inputs            [row, ...] or {"name": [...], ...}
or `text/csv` with a header line, or a Parquet file (`application/vnd.apache.parquet`, MLflow's
type, or `application/x-parquet`; needs pyarrow: the `parquet` extra). MLflow's chat-style bodies
(a top-level `messages`, `prompt` or `input`) are taken whole, as MLflow's scoring server takes
them: keys the params schema names become params, every other key stays in the data, and the
answer is the bare prediction, not `{"predictions": ...}`. The parsed data goes to `PyFuncModel.prepare_input`, which
checks it against the signature and converts it to what the framework wants (numpy for tensor
models, a DataFrame only when the model needs column names), so no pandas object is built here
for JSON.

Responses are shaped like MLflow's scoring server: arrays become nested lists, a DataFrame
becomes a list of records, a Series a list of one-key records, dicts and lists pass through.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from shipyard.exceptions import SchemaEnforcementError, UnsupportedMediaType
from shipyard.flavors.json_values import BooleanFree
from shipyard.runtime.csv_input import CsvTable, cell_value, parse_csv
from shipyard.web import dumps

if TYPE_CHECKING:
    from shipyard.flavors.signature import Schema

FORMAT_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
CHAT_KEYS = ("messages", "prompt", "input")
"""MLflow's `SUPPORTED_LLM_FORMATS` (chat, completions, embeddings): any of them at the top level
makes the whole body the model's input."""
FRAME_FORMATS = frozenset({"dataframe_split", "dataframe_records", "csv", "parquet"})
"""Formats that MLflow always hands to the model as a DataFrame."""
PARAMS_KEY = "params"
JSON_TYPES = ("application/json",)
CSV_TYPES = ("text/csv",)
PARQUET_TYPES = ("application/vnd.apache.parquet", "application/x-parquet")
SUPPORTED_TYPES = (*JSON_TYPES, *CSV_TYPES, *PARQUET_TYPES)
SPLIT_KEYS = frozenset({"columns", "data", "index"})
_NAME_TYPES = frozenset({str, int})


@dataclass(slots=True)
class ScoringRequest:
    """One parsed `/invocations` body: the data for `prepare_input`, and params.

    `whole` marks a chat-style body: one input (not rows) whose answer is not wrapped."""

    data: Any
    params: dict[str, Any] | None
    format: str
    whole: bool = False


def media_type(content_type: str | None) -> str:
    """The bare media type; only utf-8 is accepted as a charset (415 otherwise)."""
    if not content_type:
        raise UnsupportedMediaType(f"the request has no Content-Type; send one of {list(SUPPORTED_TYPES)}")
    mime, _, rest = content_type.partition(";")
    mime = mime.strip().lower()
    for part in rest.split(";"):
        key, _, value = part.strip().partition("=")
        if not key:
            continue
        if key.lower() != "charset":
            raise UnsupportedMediaType(f"Content-Type parameter {key!r} is not supported")
        if value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise UnsupportedMediaType(f"charset {value!r} is not supported; send utf-8")
    if mime not in SUPPORTED_TYPES:
        raise UnsupportedMediaType(f"Content-Type {mime!r} is not supported; send one of {list(SUPPORTED_TYPES)}")
    return mime


def parse_invocation(
    body: bytes, content_type: str | None, param_names: frozenset[str] = frozenset()
) -> ScoringRequest:
    """Parse an `/invocations` body; raises SchemaEnforcementError (400) naming the field.

    `param_names` are the names in the model's params schema (they split a chat-style body)."""
    mime = media_type(content_type)
    if mime in CSV_TYPES:
        return ScoringRequest(parse_csv(body), None, "csv")  # a CsvTable, read by the schema later
    if mime in PARQUET_TYPES:
        return ScoringRequest(parse_parquet(body), None, "parquet")
    # NOTE: a body without a `true`/`false` token holds no bool: tensor values then skip the walk
    # that tells bools from numbers (json_values.BooleanFree); a token inside a string only costs it.
    boolean_free = b"true" not in body and b"false" not in body
    return parse_json_payload(loads_exact(body), param_names, boolean_free=boolean_free)


def _integer_scan_table() -> bytes:
    """Digits -> '9', '.' stays, every other byte -> 'x': an integer's digits then follow an 'x'."""
    table = bytearray(b"x" * 256)
    for digit in b"0123456789":
        table[digit] = ord("9")
    table[ord(".")] = ord(".")
    return bytes(table)


_INTEGER_SCAN = _integer_scan_table()
_LONG_INTEGER = b"x" + b"9" * 19


def _long_digits(body: bytes) -> bool:
    """A run of 19 digits that is not a fraction's (`0.0012345678901234567` is a float's repr):
    maybe an integer past int64 (orjson reads ints past 64 bits as floats). NOTE: a translate
    and a substring search in C, many times faster than a regex over a body full of numbers;
    an exponent of 19 digits also hits, and only costs the exact parse."""
    return _LONG_INTEGER in body.translate(_INTEGER_SCAN)


def loads_exact(body: bytes) -> Any:
    """JSON with every integer exact: orjson, and only when the text holds a run of 19 digits
    the stdlib parser again (Python ints of any size), so the common body pays one regex scan."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if not _long_digits(body):
            raise SchemaEnforcementError(f"the body is not valid JSON: {exc}") from None
        payload = None  # NOTE: orjson refuses an integer too big for a double (10**400): the stdlib reads it
    else:
        if not _long_digits(body):
            return payload
    try:
        return json.loads(body, parse_constant=_no_constant)
    except RecursionError:
        raise SchemaEnforcementError("the body is not valid JSON: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise SchemaEnforcementError(f"the body is not valid JSON: {exc}") from None


def _no_constant(name: str) -> Any:
    """NaN and Infinity are not JSON (orjson refuses them too)."""
    raise ValueError(f"{name} is not a JSON value")


def parse_json_payload(
    payload: Any, param_names: frozenset[str] = frozenset(), *, boolean_free: bool = False
) -> ScoringRequest:
    if not isinstance(payload, dict):
        raise SchemaEnforcementError(
            f"the body must be a JSON object with one of the keys {list(FORMAT_KEYS)}, got a JSON {_json_kind(payload)}"
        )
    if not payload.keys().isdisjoint(CHAT_KEYS):
        whole = {k: v for k, v in payload.items() if k not in param_names}
        named = {k: v for k, v in payload.items() if k in param_names}
        # NOTE: MLflow passes `{}` (not None) as params when the params schema names none of the keys.
        return ScoringRequest(whole, named, "chat", whole=True)
    formats = [key for key in payload if key in FORMAT_KEYS]
    unknown = [key for key in payload if key not in FORMAT_KEYS and key != PARAMS_KEY]
    if unknown:
        raise SchemaEnforcementError(
            f"unknown key(s) {unknown} in the body; allowed: {list(FORMAT_KEYS)} and 'params', "
            f"or a chat-style body with one of {list(CHAT_KEYS)}"
        )
    if len(formats) != 1:
        raise SchemaEnforcementError(f"the body must have exactly one of the keys {list(FORMAT_KEYS)}, got {formats}")
    fmt = formats[0]
    params = payload.get(PARAMS_KEY)
    if params is not None and not isinstance(params, dict):
        raise SchemaEnforcementError(
            f"'params' must be a JSON object of name -> value, got a JSON {_json_kind(params)}"
        )
    value = payload[fmt]
    if fmt == "dataframe_split":
        data = _split_to_columns(value)
    elif fmt == "dataframe_records":
        if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
            raise SchemaEnforcementError("'dataframe_records' must be a list of records (JSON objects column -> value)")
        data = value
    elif fmt == "instances":
        if not isinstance(value, list):
            raise SchemaEnforcementError(f"'instances' must be a list of rows, got a JSON {_json_kind(value)}")
        data = _records_to_columns(value) if value and isinstance(value[0], dict) else _marked(value, boolean_free)
    else:
        if not isinstance(value, (list, dict)):
            raise SchemaEnforcementError(
                f"'inputs' must be a list of rows or an object name -> values, got a JSON {_json_kind(value)}"
            )
        data = _marked(value, boolean_free)
    return ScoringRequest(data, params or None, fmt)


def _marked(value: Any, boolean_free: bool) -> Any:
    return BooleanFree(value) if boolean_free and type(value) is list else value


def _split_to_columns(value: Any) -> Any:
    """`dataframe_split` -> {column: values} (or the rows, when no columns are named)."""
    if not isinstance(value, dict):
        raise SchemaEnforcementError(
            f"'dataframe_split' must be an object with 'columns' and 'data', got a JSON {_json_kind(value)}"
        )
    extra = sorted(set(value) - SPLIT_KEYS)
    if extra or "data" not in value:
        raise SchemaEnforcementError(
            f"'dataframe_split' takes 'data' and optionally 'columns' and 'index'; got keys {sorted(value)}"
        )
    rows, columns = value["data"], value.get("columns")
    if not isinstance(rows, list):
        raise SchemaEnforcementError("'dataframe_split.data' must be a list of rows")
    if columns is None:
        return rows
    if not isinstance(columns, list):
        raise SchemaEnforcementError("'dataframe_split.columns' must be a list of column names")
    # NOTE: JSON object keys are strings, but split columns may be integers (a DataFrame without
    # column names); they stay integers, as in MLflow's pd.DataFrame(columns=...).
    if not _NAME_TYPES.issuperset(map(type, columns)):
        j, name = next((j, c) for j, c in enumerate(columns) if type(c) not in _NAME_TYPES)
        raise SchemaEnforcementError(
            f"'dataframe_split.columns[{j}]' must be a string or an integer, got a JSON {_json_kind(name)}"
        )
    if len(set(columns)) != len(columns):
        repeated = sorted({repr(c) for c in columns if columns.count(c) > 1})
        raise SchemaEnforcementError(f"'dataframe_split.columns' repeats {', '.join(repeated)}")
    width = len(columns)
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            raise SchemaEnforcementError(
                f"'dataframe_split.data[{i}]' must be a list of {width} values (one per column)"
            )
    return {name: [row[j] for row in rows] for j, name in enumerate(columns)}


def _records_to_columns(records: list[Any]) -> dict[str, list[Any]]:
    """`instances` as a list of objects -> one list per name (every object needs every name)."""
    if not all(isinstance(row, dict) for row in records):
        raise SchemaEnforcementError("'instances' mixes objects and non-objects")
    names = list(records[0])
    columns: dict[str, list[Any]] = {name: [] for name in names}
    for i, row in enumerate(records):
        if len(row) != len(names):
            raise SchemaEnforcementError(
                f"'instances[{i}]' has keys {sorted(row)}; every instance needs {sorted(names)}"
            )
        for name in names:
            if name not in row:
                raise SchemaEnforcementError(f"'instances[{i}]' is missing {name!r}")
            columns[name].append(row[name])
    return columns


def parse_parquet(body: bytes) -> Any:
    """A Parquet body (as `DataFrame.to_parquet()` writes it) -> a pandas DataFrame."""
    import importlib.util
    import io

    import pandas as pd

    if importlib.util.find_spec("pyarrow") is None:  # pandas' Parquet engine; checked to name the extra
        raise UnsupportedMediaType(
            "Parquet bodies need pyarrow, which is not installed; install shipyard[parquet] "
            "(or send application/json or text/csv)"
        )
    try:
        return pd.read_parquet(io.BytesIO(body))
    except (ValueError, OSError, TypeError) as exc:
        raise SchemaEnforcementError(f"the body is not a valid Parquet file: {exc}") from None


def as_frame(parsed: ScoringRequest) -> Any:
    """The data of a DataFrame format (`FRAME_FORMATS`) as the DataFrame MLflow builds from it;
    other formats' data as parsed."""
    import pandas as pd

    data = parsed.data
    if isinstance(data, CsvTable):
        return data.frame()
    if parsed.format not in FRAME_FORMATS or isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, dict):  # dataframe_split with columns
        return pd.DataFrame(data, columns=list(data))
    return pd.DataFrame(data)


def schema_input(parsed: ScoringRequest, schema: Schema) -> Any:
    """The data for a model with an input schema: a CSV body read cell by cell as the schema's
    types (see `csv_input`); every other format as parsed."""
    data = parsed.data
    if not isinstance(data, CsvTable):
        return data
    if schema.is_tensor_spec():
        return data.number_rows()
    types: dict[Any, str] = {}
    for spec in schema.inputs:
        type_name = getattr(spec, "type", None)
        if isinstance(type_name, str):
            types[spec.name] = type_name
    if not schema.has_input_names():
        return [[cell_value(cell, "double") for cell in row] for row in data.rows] if data.rows else []
    return data.columns(types)


def unschematized_input(parsed: ScoringRequest) -> Any:
    """What MLflow's scoring server hands a model that has no input schema: a DataFrame for the
    DataFrame formats, numpy arrays for `inputs`/`instances`, a chat-style body as it came."""
    if parsed.format in FRAME_FORMATS:
        return as_frame(parsed)
    data = parsed.data
    if parsed.whole:
        return data
    if isinstance(data, dict):
        return {key: _array_or_list(value) for key, value in data.items()}
    return _array_or_list(data)


def _array_or_list(value: Any) -> Any:
    """`np.array(value)` as MLflow makes it; ragged nested lists stay lists."""
    try:
        return np.asarray(value)
    except ValueError:
        return value


def jsonable(output: Any) -> Any:
    """What MLflow's scoring server would serialize for a model output."""
    if isinstance(output, np.ndarray):
        if output.dtype == np.float32 or output.dtype == np.float16:
            # NOTE: MLflow goes through tolist(): float32 values print as their float64 widening.
            return output.astype(np.float64)
        return output if output.dtype.kind in "biuf" and output.flags.c_contiguous else output.tolist()
    if isinstance(output, dict):
        return {key: jsonable(value) for key, value in output.items()}
    if isinstance(output, (list, tuple)):
        if output and isinstance(output[0], (np.ndarray, np.generic, list, dict, tuple)):
            return [jsonable(value) for value in output]
        return output
    if isinstance(output, np.generic):
        return output.item()  # NOTE: like tolist(), a float32 scalar widens to a Python float
    if isinstance(output, (str, int, float, bool)) or output is None:
        return output
    import pandas as pd

    if isinstance(output, pd.DataFrame):
        return output.to_dict(orient="records")
    if isinstance(output, pd.Series):
        return pd.DataFrame(output).to_dict(orient="records")
    return output


def predictions_body(output: Any, *, wrapped: bool = True) -> bytes:
    """`{"predictions": ...}`; the bare prediction for a chat-style body (`wrapped=False`)."""
    return dumps({"predictions": jsonable(output)} if wrapped else jsonable(output))


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


__all__ = [
    "CHAT_KEYS",
    "FORMAT_KEYS",
    "FRAME_FORMATS",
    "SUPPORTED_TYPES",
    "ScoringRequest",
    "as_frame",
    "jsonable",
    "parse_invocation",
    "parse_json_payload",
    "loads_exact",
    "parse_parquet",
    "predictions_body",
    "schema_input",
    "unschematized_input",
]
