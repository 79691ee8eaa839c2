"""`GET /openapi.json`: the server's routes as an OpenAPI 3.1 document, with the model's schema."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from shipyard.runtime.health import served_model
from shipyard.runtime.http import json_response
from shipyard.runtime.scoring import dumps
from shipyard.version import __version__

ERROR = {"$ref": "#/components/schemas/Error"}


def _answer(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description}
    if schema is not None:
        out["content"] = {"application/json": {"schema": schema}}
    return out


def build_openapi(model_name: str, signature: Any) -> dict[str, Any]:
    """The document; `signature` (may be None) is embedded as the model's input description."""
    inputs = getattr(signature, "inputs", None)
    input_doc = inputs.to_dict() if inputs is not None else None
    errors = {
        "400": _answer("malformed body, unknown format key, or input not matching the signature", ERROR),
        "413": _answer("body over the size limit", ERROR),
        "415": _answer("unsupported Content-Type", ERROR),
        "500": _answer("the model raised; the body carries an error id", ERROR),
        "503": _answer("not ready, or the queue is full (see Retry-After)", ERROR),
        "504": _answer("no prediction within the request timeout", ERROR),
    }
    scoring = {
        "type": "object",
        "description": "exactly one of dataframe_split, dataframe_records, instances, inputs",
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
        "x-model-signature-inputs": input_doc,
    }
    get_ok = lambda what: {"get": {"summary": what, "responses": {"200": _answer("ok")}}}  # noqa: E731
    return {
        "openapi": "3.1.0",
        "info": {"title": f"shipyard serve: {model_name}", "version": __version__},
        "paths": {
            "/invocations": {
                "post": {
                    "summary": "Score rows (MLflow scoring protocol)",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": scoring},
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    "responses": {
                        "200": _answer("predictions", {"type": "object", "properties": {"predictions": {}}}),
                        **errors,
                    },
                }
            },
            "/ping": get_ok("200 once the model is loaded and warmed up, else 503"),
            "/health": get_ok("same as /ping"),
            "/version": get_ok("Shipyard's version and the served model's identity"),
            "/metrics": get_ok("Prometheus metrics"),
            "/v2": get_ok("KServe V2 server metadata"),
            "/v2/health/live": get_ok("200 while the process serves HTTP"),
            "/v2/health/ready": get_ok("200 once the model is ready"),
            "/v2/models/{name}": get_ok("KServe V2 model metadata"),
            "/v2/models/{name}/ready": get_ok("200 once the model is ready"),
            "/v2/models/{name}/infer": {
                "post": {
                    "summary": "KServe V2 inference (JSON tensors or binary tensor extension)",
                    "responses": {"200": _answer("output tensors"), **errors},
                }
            },
        },
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error_code", "message"],
                    "properties": {
                        "error_code": {"type": "string"},
                        "message": {"type": "string"},
                        "error_id": {"type": "string"},
                    },
                }
            }
        },
    }


async def openapi(request: Request) -> Response:
    served = served_model(request)
    return json_response(dumps(build_openapi(served.identity.name, getattr(served.pyfunc, "signature", None))))


__all__ = ["build_openapi", "openapi"]
