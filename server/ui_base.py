"""What every UI page module shares: the Jinja2 environment, rendering with the path prefix, error
pages, and the one way a form post becomes an action (same-origin check, form parsing, the store
call off the event loop, a redirect with a message, or the error shown on a page).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

import jinja2
from markdown_it import MarkdownIt
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from shipyard.exceptions import InvalidInput, PermissionDenied, ShipyardError
from shipyard.server.context import context_of

FORM_BYTES = 1024 * 1024
"""Largest form body a UI action reads (a description may be long; nothing else is)."""
_MARKDOWN = MarkdownIt("commonmark", {"html": False})

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=jinja2.select_autoescape(default=True),
    undefined=jinja2.StrictUndefined,
)


def _fmt_time(ms: int | None) -> str:
    return "" if not ms else dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _markdown(text: str | None) -> Markup:
    """Markdown with raw HTML off (markdown-it escapes it and refuses `javascript:` links)."""
    return Markup(_MARKDOWN.render(text or ""))  # noqa: S704 - markdown-it escapes every input character


TEMPLATES.filters["time"] = _fmt_time
TEMPLATES.filters["q"] = lambda text: quote(str(text), safe="")
TEMPLATES.filters["markdown"] = _markdown


def prefix_of(request: Request) -> str:
    """The `--static-prefix` every UI link and redirect starts with ('' when none)."""
    return context_of(request).settings.static_prefix


def page(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    values.setdefault("message", request.query_params.get("message"))
    html = TEMPLATES.get_template(template).render(P=prefix_of(request), **values)
    return HTMLResponse(html, status_code=status)


def error_page(request: Request, error: ShipyardError) -> HTMLResponse:
    return page(request, "error.html", error.http_status, title="Error", error=error, message=None)


def guarded(view: Callable[[Request], Response]) -> Callable[[Request], Awaitable[Response]]:
    """A page view run off the event loop; Shipyard errors become an error page with the right status."""

    async def endpoint(request: Request) -> Response:
        try:
            return await run_in_threadpool(view, request)
        except ShipyardError as error:
            return error_page(request, error)

    endpoint.__name__ = view.__name__
    return endpoint


def same_origin(request: Request) -> None:
    """Refuse form posts that another site's page made the browser send."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    host = request.headers.get("host")
    if not origin or not host or urlparse(origin).netloc != host:
        raise PermissionDenied("this action is accepted only from the server's own pages")


async def read_form(request: Request) -> dict[str, list[str]]:
    body = await request.body()
    if len(body) > FORM_BYTES:
        raise InvalidInput(f"the form is {len(body)} bytes; at most {FORM_BYTES} are accepted")
    return parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)


class Form:
    """A posted form's fields; a missing or blank required field is an error naming it."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        self.fields = fields

    def get(self, name: str, default: str = "") -> str:
        values = self.fields.get(name)
        return values[-1] if values else default

    def required(self, name: str, label: str | None = None) -> str:
        value = self.get(name).strip()
        if not value:
            raise InvalidInput(f"{label or name} is required")
        return value

    def all(self, name: str) -> list[str]:
        return [value for value in self.fields.get(name, []) if value]


Action = Callable[[Request, Form], tuple[str, str]]
"""A form post's work: returns (path to go to, without the prefix; the message to show there)."""


def action(work: Action) -> Callable[[Request], Awaitable[Response]]:
    """A POST endpoint: same origin only, the store call off the event loop, then 303 to the page
    `work` names with its message; an error is shown on an error page with its status."""

    async def endpoint(request: Request) -> Response:
        try:
            same_origin(request)
            form = Form(await read_form(request))
            target, message = await run_in_threadpool(work, request, form)
        except ShipyardError as error:
            return error_page(request, error)
        separator = "&" if "?" in target else "?"
        location = f"{prefix_of(request)}{target}{separator}message={quote(message)}"
        return RedirectResponse(location, status_code=303)

    endpoint.__name__ = work.__name__
    return endpoint


def quoted(text: str) -> str:
    return quote(text, safe="")


__all__ = [
    "Action",
    "Form",
    "TEMPLATES",
    "action",
    "error_page",
    "guarded",
    "page",
    "prefix_of",
    "quoted",
    "read_form",
    "same_origin",
]
