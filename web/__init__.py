"""HTTP plumbing shared by both servers (`shipyard serve` and `shipyard server`): bounded body
reads, JSON answers and errors, log set-up, and the uvicorn launch with its worker hand-off.

It imports only the base modules (`shipyard.exceptions`) and third-party libraries, never a part.
"""

from shipyard.web.answers import (
    Endpoint,
    dumps,
    error_parts,
    error_response,
    guarded,
    http_error,
    internal_error_parts,
    internal_error_response,
    json_bytes_response,
    json_response,
    send_json,
)
from shipyard.web.bodies import ClientGone, read_asgi_body, read_body
from shipyard.web.launch import Launch, handed_over, run_one, run_workers
from shipyard.web.logs import configure_logging

__all__ = [
    "ClientGone",
    "Endpoint",
    "Launch",
    "configure_logging",
    "dumps",
    "error_parts",
    "error_response",
    "guarded",
    "handed_over",
    "http_error",
    "internal_error_parts",
    "internal_error_response",
    "json_bytes_response",
    "json_response",
    "read_asgi_body",
    "read_body",
    "run_one",
    "run_workers",
    "send_json",
]
