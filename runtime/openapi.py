"""The server's routes as a valid OpenAPI 3.1 document, with the model's signature as the schema.

Built from the route table (`runtime/routes.py`), so the document lists exactly the routes the
app serves; `GET /openapi.json` answers it. Every path parameter is declared, every error status
a route can answer is documented, and the `/invocations` body is a `oneOf` of the four scoring
formats whose rows and tensors are the model's own signature (`openapi_schemas.py`), so a
schema-driven client (or fuzzer) can build a valid body from the document alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shipyard.runtime.openapi_schemas import scoring_body
from shipyard.runtime.routing import RouteSpec, path_parameters
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
ANY_JSON: dict[str, Any] = {}


def _answer(description: str, schema: dict[str, Any] | None = None, media: str = "application/json") -> dict[str, Any]:
    out: dict[str, Any] = {"description": description}
    if schema is not None:
        out["content"] = {media: {"schema": schema}}
    return out


def _errors(*codes: str) -> dict[str, Any]:
    return {code: _answer(ERROR_TEXT[code], ERROR) for code in codes}


ERROR_TEXT = {
    "400": "malformed body, unknown format key, or input not matching the signature (the message names the field)",
    "404": "no such model or version here",
    "405": "another method on this path",
    "413": "body over the size limit (after decompression)",
    "415": "unsupported Content-Type, charset or Content-Encoding",
    "500": "a bug or the model raised; the body carries an error id",
    "503": "not ready, or the queue is full (see Retry-After)",
    "504": "no prediction within the request timeout",
}
POST_ERRORS = ("400", "404", "413", "415", "500", "503", "504")
GET_ERRORS = ("404", "500", "503")

_EMPTY_GETS = {"/ping", "/health"}
"""GET routes whose 200 has no JSON body (MLflow's health check answers a bare newline)."""
_TEXT_GETS = {"/version", "/metrics"}
"""GET routes whose 200 is text (the version as MLflow's clients read it; Prometheus' format)."""


def _operation(route: RouteSpec, signature: Any) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": route.summary, "operationId": _operation_id(route)}
    names = path_parameters(route.path)
    if names:
        operation["parameters"] = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[^/]+$"}}
            for name in names
        ]
    if route.protocol == "scoring":
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": scoring_body(signature)},
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.apache.parquet": {"schema": {"type": "string"}},
            },
        }
        ok = _answer("predictions", {"type": "object", "required": ["predictions"], "properties": {"predictions": {}}})
        operation["responses"] = {"200": ok, **_errors(*POST_ERRORS)}
    elif route.method == "POST":
        if route.protocol == "v2":
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": {"type": "object"}}, "application/octet-stream": {}},
            }
        operation["responses"] = {"200": _answer("the answer", ANY_JSON), **_errors(*POST_ERRORS)}
    elif route.path in _EMPTY_GETS:
        operation["responses"] = {"200": _answer("ready"), **_errors(*GET_ERRORS)}
    elif route.path in _TEXT_GETS:
        text = {"description": "ok", "content": {"text/plain": {"schema": {"type": "string"}}, "application/json": {}}}
        operation["responses"] = {"200": text, **_errors(*GET_ERRORS)}
    else:
        operation["responses"] = {"200": _answer("ok", ANY_JSON), **_errors(*GET_ERRORS)}
    return operation


def _operation_id(route: RouteSpec) -> str:
    cleaned = "".join(c if c.isalnum() else "_" for c in route.path).strip("_") or "root"
    return f"{route.method.lower()}_{cleaned}"


def build_openapi(routes: Iterable[RouteSpec], model_name: str, signature: Any) -> dict[str, Any]:
    """The document; `signature` (may be None: any body) shapes the `/invocations` schema."""
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
