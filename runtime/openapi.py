"""The server's routes as an OpenAPI 3.1 document, with the model's input schema embedded.

Built from the route table (`runtime/routes.py`), so the document lists exactly the routes the
app serves; `GET /openapi.json` answers it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shipyard.runtime.routing import RouteSpec
from shipyard.version import __version__

ERROR = {"$ref": "#/components/schemas/Error"}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error_code", "message"],
    "properties": {
        "error_code": {"type": "string"},
        "message": {"type": "string"},
        "error_id": {"type": "string"},
    },
}


def _answer(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description}
    if schema is not None:
        out["content"] = {"application/json": {"schema": schema}}
    return out


ERRORS = {
    "400": _answer("malformed body, unknown format key, or input not matching the signature", ERROR),
    "413": _answer("body over the size limit", ERROR),
    "415": _answer("unsupported Content-Type", ERROR),
    "500": _answer("the model raised; the body carries an error id", ERROR),
    "503": _answer("not ready, or the queue is full (see Retry-After)", ERROR),
    "504": _answer("no prediction within the request timeout", ERROR),
}


def _scoring_schema(signature: Any) -> dict[str, Any]:
    inputs = getattr(signature, "inputs", None)
    return {
        "type": "object",
        "description": (
            "exactly one of dataframe_split, dataframe_records, instances, inputs; or, for custom python "
            "models, a chat-style body with a top-level messages, prompt or input (answered unwrapped)"
        ),
        "properties": {
            "dataframe_split": {
                "type": "object",
                "properties": {"columns": {"type": "array"}, "data": {"type": "array"}, "index": {"type": "array"}},
            },
            "dataframe_records": {"type": "array", "items": {"type": "object"}},
            "instances": {"type": "array"},
            "inputs": {"type": ["array", "object"]},
            "params": {"type": "object"},
        },
        "x-model-signature-inputs": inputs.to_dict() if inputs is not None else None,
    }


def _operation(route: RouteSpec, signature: Any) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": route.summary}
    if route.protocol == "scoring":
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": _scoring_schema(signature)},
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
            },
        }
        ok = _answer("predictions", {"type": "object", "properties": {"predictions": {}}})
        operation["responses"] = {"200": ok, **ERRORS}
    elif route.protocol == "v2":
        operation["responses"] = {"200": _answer("output tensors"), **ERRORS}
    else:
        operation["responses"] = {"200": _answer("ok")}
    return operation


def build_openapi(routes: Iterable[RouteSpec], model_name: str, signature: Any) -> dict[str, Any]:
    """The document; `signature` (may be None) is embedded as the model's input description."""
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, signature)
    return {
        "openapi": "3.1.0",
        "info": {"title": f"shipyard serve: {model_name}", "version": __version__},
        "paths": paths,
        "components": {"schemas": {"Error": ERROR_SCHEMA}},
    }


__all__ = ["build_openapi"]
