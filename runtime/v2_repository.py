"""KServe V2's model repository extension: list the models this server was started with, and
unload or load them again (Triton's explicit model control, over the models given at start).

A model outside that set cannot be loaded: what a server may serve is fixed at start, by `-m`
or `--models`, so the registry stays the one place that says which versions exist.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from shipyard.exceptions import InvalidState
from shipyard.runtime.state import model_named, state_of
from shipyard.web import json_response

READY = "READY"
UNAVAILABLE = "UNAVAILABLE"


async def index(request: Request) -> Response:
    """Every model with its version and state (`READY`, `LOADING`, `UNAVAILABLE`) and why."""
    entries = []
    for name, served in state_of(request).models.items():
        state = READY if served.ready else "LOADING" if served.state == "loading" else UNAVAILABLE
        entry = {"name": name, "version": served.identity.version or "1", "state": state}
        if state != READY:
            entry["reason"] = served.reason
        entries.append(entry)
    return json_response(entries)


async def load(request: Request) -> Response:
    """Load (again) a model given at start; answers once it is ready, 400 with the reason if not."""
    served = model_named(request, request.path_params["name"])
    if not served.ready:
        await served.load()
    if not served.ready:
        raise InvalidState(served.reason)
    return json_response({})


async def unload(request: Request) -> Response:
    """Stop serving a model; requests already accepted finish first."""
    served = model_named(request, request.path_params["name"])
    if served.state == "loading":
        raise InvalidState(f"model {served.identity.name!r} is loading; unload it once it is ready")
    await served.unload()
    return json_response({})


__all__ = ["index", "load", "unload"]
