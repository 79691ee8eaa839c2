"""What a route is (`RouteSpec`) and the bounded route label of a request path (`RouteLabels`).

The route table itself is in `runtime/routes.py`; the app, the OpenAPI document and the access
log all read it, so a route is written down once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from starlette.types import ASGIApp

from shipyard.runtime.model import ServedModel
from shipyard.web import Endpoint

OTHER = "other"
"""The label of a path that no route matches (a scanner's probes must not grow the metrics)."""

_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """One route: path template, method, a summary for the OpenAPI document, and its handler.

    The handler is either `endpoint` (a Starlette endpoint, reading the served model from
    `request.app.state`) or `direct` (builds a bare ASGI app for the served model, which the front
    door dispatches before Starlette: the hot path). `protocol` names the request body a POST
    takes, for the OpenAPI document.
    """

    path: str
    method: Literal["GET", "POST"]
    summary: str
    endpoint: Endpoint | None = None
    direct: Callable[[ServedModel], ASGIApp] | None = None
    protocol: Literal["scoring", "v2"] | None = None

    def __post_init__(self) -> None:
        if (self.endpoint is None) == (self.direct is None):
            raise ValueError(f"route {self.method} {self.path}: give exactly one of endpoint and direct")
        if self.direct is not None and _PARAM.search(self.path):
            raise ValueError(f"route {self.method} {self.path}: a direct route needs a fixed path")


def path_parameters(template: str) -> list[str]:
    """The parameter names of a path template, in order (`/v2/models/{name}` -> ["name"])."""
    return _PARAM.findall(template)


def _pattern(template: str) -> re.Pattern[str]:
    """`/v2/models/{name}` -> a regex matching one path segment where each parameter stands."""
    pieces = _PARAM.split(template)  # literal, parameter name, literal, ...
    return re.compile("".join(re.escape(p) if i % 2 == 0 else "[^/]+" for i, p in enumerate(pieces)) + r"\Z")


class RouteLabels:
    """Path -> the template of the route it matches (`/v2/models/{name}/infer`), else "other".

    Fixed paths are one dict lookup (the hot path's is one of them); templates are tried in order.
    """

    def __init__(self, paths: Iterable[str]) -> None:
        self._fixed: dict[str, str] = {}
        self._templates: list[tuple[re.Pattern[str], str]] = []
        for path in dict.fromkeys(paths):
            if _PARAM.search(path):
                self._templates.append((_pattern(path), path))
            else:
                self._fixed[path] = path

    def __call__(self, path: str) -> str:
        label = self._fixed.get(path)
        if label is not None:
            return label
        for pattern, template in self._templates:
            if pattern.match(path):
                return template
        return OTHER


__all__ = ["OTHER", "RouteLabels", "RouteSpec", "path_parameters"]
