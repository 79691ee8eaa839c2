"""JSON Schemas of the `/invocations` body, made from the model's signature.

The body is a `oneOf` of the scoring formats (each an object with exactly its one format key and
optional `params`), whose rows, records and tensors are the signature's columns and tensors. The
schemas are as tight as the conversion rules (`flavors/json_values.py`), so every body they
allow is scored: integers within the column type's range, numbers within +-2**53 (a bigger
integer loses digits in a float column), base64 text for binary columns, nulls only in optional
columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np

INT_RANGES = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
EXACT = 2**53
NUMBER = {"type": "number", "minimum": -EXACT, "maximum": EXACT}
BASE64 = "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


def column_schema(type_name: str) -> dict[str, Any]:
    """The JSON Schema of one value of a scalar column or param type."""
    if type_name in INT_RANGES:
        low, high = INT_RANGES[type_name]
        return {"type": "integer", "minimum": low, "maximum": high}
    if type_name in ("float", "double"):
        return dict(NUMBER)
    if type_name == "boolean":
        return {"type": "boolean"}
    if type_name == "binary":
        return {"type": "string", "pattern": BASE64}
    if type_name == "datetime":
        return {"type": "string", "format": "date-time"}
    return {"type": "string"}


def _value(spec: Any) -> dict[str, Any]:
    if not isinstance(spec.type, str):  # nested (Array, Object, Map, Any): described, not shaped
        return {}
    schema = column_schema(spec.type)
    return schema if spec.required else {"anyOf": [schema, {"type": "null"}]}


def _tensor_value(dtype: np.dtype) -> dict[str, Any]:
    kind = dtype.kind
    if kind == "b":
        return {"type": "boolean"}
    if kind in "iu":
        info = np.iinfo(dtype)
        return {"type": "integer", "minimum": int(info.min), "maximum": int(info.max)}
    if kind == "f":
        return dict(NUMBER)
    return {"type": "string"}


def _tensor(spec: Any) -> dict[str, Any]:
    """Nested arrays of the tensor's shape (-1: any length)."""
    schema = _tensor_value(spec.dtype)
    for size in reversed(spec.shape):
        schema = {"type": "array", "items": schema}
        if size != -1:
            schema["minItems"] = schema["maxItems"] = int(size)
    return schema


def _format(key: str, value: dict[str, Any], params: dict[str, Any] | None) -> dict[str, Any]:
    properties: dict[str, Any] = {key: value}
    if params is not None:
        properties["params"] = params
    return {"type": "object", "required": [key], "properties": properties, "additionalProperties": False}


def _params(signature: Any) -> dict[str, Any] | None:
    schema = getattr(signature, "params", None)
    if schema is None:
        return None
    properties = {}
    for spec in schema.params:
        value = column_schema(spec.type)
        properties[spec.name] = {"type": "array", "items": value} if spec.shape is not None else value
    return {"type": "object", "properties": properties, "additionalProperties": False}


def scoring_body(signature: Any) -> dict[str, Any]:
    """The `oneOf` of the formats for this signature (None: any rows)."""
    inputs = getattr(signature, "inputs", None)
    params = _params(signature)
    description = (
        "exactly one of dataframe_split, dataframe_records, instances, inputs (+ params); custom python "
        "models also take a chat-style body with a top-level messages, prompt or input (answered unwrapped)"
    )
    if inputs is None:
        loose = {"type": "array"}
        formats = [
            _format("dataframe_split", {"type": "object", "required": ["data"]}, {"type": "object"}),
            _format("dataframe_records", {"type": "array", "items": {"type": "object"}}, {"type": "object"}),
            _format("instances", loose, {"type": "object"}),
            _format("inputs", {"type": ["array", "object"]}, {"type": "object"}),
        ]
        return {"description": description, "oneOf": formats}
    if inputs.is_tensor_spec():
        specs = list(inputs.inputs)
        if len(specs) == 1:
            rows = _tensor(specs[0])
            tensors = [rows]
            if specs[0].name is not None:
                tensors.append(_named(specs))
            formats = [
                _format("inputs", tensors[0] if len(tensors) == 1 else {"oneOf": tensors}, params),
                _format("instances", rows, params),
                _format("dataframe_split", _split(None, rows), params),
            ]
        else:
            formats = [_format("inputs", _named(specs), params)]
        return {"description": description, "oneOf": formats, "x-model-signature-inputs": inputs.to_dict()}
    specs = list(inputs.inputs)
    values = [_value(s) for s in specs]
    row = {"type": "array", "prefixItems": values, "items": False, "minItems": len(values), "maxItems": len(values)}
    rows = {"type": "array", "items": row}
    formats = [_format("inputs", rows, params)]
    if inputs.has_input_names():
        names = [s.name for s in specs]
        record = {
            "type": "object",
            "properties": dict(zip(names, values, strict=True)),
            "required": [s.name for s in specs if s.required],
            "additionalProperties": False,
        }
        records = {"type": "array", "items": record}
        formats += [
            _format("dataframe_split", _split(names, rows), params),
            _format("dataframe_records", records, params),
            _format("instances", {"anyOf": [records, rows]} if len(names) > 1 else records, params),
        ]
    else:
        formats += [_format("dataframe_split", _split(None, rows), params), _format("instances", rows, params)]
    return {"description": description, "oneOf": formats, "x-model-signature-inputs": inputs.to_dict()}


def _named(specs: list[Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {str(s.name): _tensor(s) for s in specs},
        "required": [str(s.name) for s in specs],
        "additionalProperties": False,
    }


def _split(names: list[Any] | None, rows: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {"data": rows}
    if names is not None:
        properties["columns"] = {
            "type": "array",
            "prefixItems": [{"const": n} for n in names],
            "items": False,
            "minItems": len(names),
            "maxItems": len(names),
        }
    return {
        "type": "object",
        "required": ["data", "columns"] if names is not None else ["data"],
        "properties": properties,
        "additionalProperties": False,
    }


__all__ = ["column_schema", "scoring_body"]
