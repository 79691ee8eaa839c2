"""Reading MLflow-style requests and writing MLflow-style answers.

Requests: POST/PATCH/DELETE carry a JSON object; GET carries the same fields as query
parameters (repeated parameters make lists). `Fields` reads one field at a time and raises
`InvalidInput` naming the field, so a caller's mistake is always a 400, never a 500.
Answers: JSON objects; errors are `{"error_code", "message"}` with the status from
`ERROR_CODE_TO_HTTP_STATUS`, and anything unexpected a 500 with an error id (`shipyard.web`).
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from shipyard.exceptions import InvalidInput
from shipyard.tracking import validation
from shipyard.web import guarded, json_response, read_body

T = TypeVar("T")
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_EXACT_FLOAT_INT = 2**53


def missing_value(name: str) -> InvalidInput:
    """MLflow's wording (clients match on it): "Missing value for required parameter 'x'."."""
    return InvalidInput(f"Missing value for required parameter '{name}'.")


def invalid_value(name: str, value: Any, problem: str) -> InvalidInput:
    """MLflow's wording: "Invalid value <json> for parameter 'x' supplied: <problem>"."""
    try:
        shown = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        shown = repr(value)
    if len(shown) > 100:
        shown = shown[:100] + "..."
    return InvalidInput(f"Invalid value {shown} for parameter '{name}' supplied: {problem}")


class Fields:
    """Typed access to a request's fields; every error names the field and what is allowed."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    @classmethod
    async def from_request(cls, request: Request, limit: int) -> Fields:
        if request.method == "GET":
            params = request.query_params
            data: dict[str, Any] = {}
            for key in params:
                values = params.getlist(key)
                data[key] = values if len(values) > 1 else values[0]
            return cls(data)
        body = await read_body(request, limit)
        if not body.strip():
            return cls(dict(request.query_params))
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise InvalidInput(f"request body is not valid JSON: {error}") from None
        if not isinstance(data, dict):
            raise InvalidInput(f"request body must be a JSON object, got {type(data).__name__}")
        return cls({**dict(request.query_params), **data})

    def has(self, name: str) -> bool:
        return self.data.get(name) not in (None, "")

    def str(self, name: str, default: str | None = None, *, required: bool = False) -> Any:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                raise missing_value(name)
            return default
        if not isinstance(value, str):
            raise invalid_value(name, value, f"it must be a string, got {type(value).__name__}")
        return value

    def int(self, name: builtins.str, default: builtins.int | None = None, *, required: bool = False) -> Any:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                raise missing_value(name)
            return default
        if isinstance(value, bool):
            raise invalid_value(name, value, "it must be an integer, got a boolean")
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise invalid_value(name, value, "it must be an integer") from None
        if isinstance(value, float) and number != value:
            raise invalid_value(name, value, "it must be an integer")
        if isinstance(value, float) and abs(number) > _EXACT_FLOAT_INT:
            # NOTE: JSON integers past int64 arrive as floats (orjson), rounded: -2**63-1 reads as
            # -2**63, in range. A float this large is not an exact integer: refuse it.
            raise invalid_value(name, value, "it must be an integer between -2^63 and 2^63-1 (written as an integer)")
        if not validation.INT64_MIN <= number <= validation.INT64_MAX:
            # NOTE: a database's BIGINT stops here; past it sqlite raises OverflowError (a 500).
            raise invalid_value(name, value, "it must be an integer between -2^63 and 2^63-1")
        return number

    def float(self, name: builtins.str, *, required: bool = True) -> Any:
        value = self.data.get(name)
        if value is None:
            if required:
                raise missing_value(name)
            return None
        return to_float(value, name)

    def bool(self, name: builtins.str, default: bool = False) -> bool:
        value = self.data.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise invalid_value(name, value, "it must be true or false")

    def list(self, name: builtins.str) -> builtins.list[Any]:
        value = self.data.get(name)
        if value is None or value == "":
            return []
        return value if isinstance(value, list) else [value]

    def str_list(self, name: builtins.str) -> builtins.list[builtins.str]:
        values = self.list(name)
        for value in values:
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                raise invalid_value(name, values, "it must be a list of strings")
        return [str(v) for v in values]

    def key_values(self, name: builtins.str) -> builtins.list[tuple[builtins.str, builtins.str]]:
        """A list of `{"key": ..., "value": ...}` objects (MLflow's tags and params)."""
        pairs = []
        for index, item in enumerate(self.list(name)):
            if not isinstance(item, dict) or not isinstance(item.get("key"), str):
                raise InvalidInput(f"{name}[{index}] must be an object with a string 'key'")
            value = item.get("value", "")
            if value is None:
                value = ""
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise InvalidInput(f"{name}[{index}].value must be a string")
            pairs.append((item["key"], str(value)))
        return pairs


def to_float(value: Any, name: str) -> float:
    """A JSON number, or proto-JSON's "NaN" / "Infinity" / "-Infinity" strings."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        if value in _NON_FINITE:
            return _NON_FINITE[value]
        try:
            return float(value)
        except ValueError:
            pass
    raise invalid_value(name, value, "it must be a number")


def json_float(value: float) -> float | str:
    """proto-JSON spelling of non-finite doubles (JSON itself has no NaN)."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


SEARCH_MAX = 50_000


def check_max_results(size: int, limit: int) -> int:
    """MLflow's bounds check, in MLflow's words."""
    if size < 1:
        raise InvalidInput(f"Invalid value {size} for parameter 'max_results' supplied. It must be a positive integer")
    if size > limit:
        raise InvalidInput(f"Invalid value {size} for parameter 'max_results' supplied. It must be at most {limit}")
    return size


@dataclass(frozen=True)
class Page:
    """One page of a listing: page tokens are offsets written as decimal strings."""

    offset: int
    size: int

    @classmethod
    def of(cls, fields: Fields, default_size: int) -> Page:
        size = check_max_results(fields.int("max_results", default_size), SEARCH_MAX)
        token = fields.str("page_token", "0")
        if not token.isdigit() or len(token) > 18:
            raise invalid_value("page_token", token, "it is not a token this server issued")
        return cls(int(token), size)

    @property
    def fetch(self) -> int:
        """How many to ask the store for: this page, what precedes it, and one to see if more follow."""
        return self.offset + self.size + 1

    def window(self, found: Sequence[T]) -> list[T]:
        return list(found[self.offset : self.offset + self.size])

    def token(self, found: Sequence[Any]) -> dict[str, str]:
        more = len(found) > self.offset + self.size
        return {"next_page_token": str(self.offset + self.size)} if more else {}


Handler = Callable[[Fields, Request], Any]


def api_endpoint(handler: Handler, limit: int) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a synchronous `handler(fields, request) -> dict` as a guarded Starlette endpoint.

    The handler runs in the thread pool (stores block); its result is the JSON answer.
    """

    async def endpoint(request: Request) -> Response:
        fields = await Fields.from_request(request, limit)
        result = await run_in_threadpool(handler, fields, request)
        return json_response(result if result is not None else {})

    endpoint.__name__ = handler.__name__
    return guarded(endpoint)


__all__ = [
    "Fields",
    "Page",
    "SEARCH_MAX",
    "api_endpoint",
    "check_max_results",
    "invalid_value",
    "json_float",
    "missing_value",
    "to_float",
]
