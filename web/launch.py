"""Handing an app to uvicorn: one process, or N worker processes that rebuild it themselves.

With one process the app object goes to uvicorn directly. With `workers > 1` uvicorn starts N
processes that each import an app factory by name; nothing but the environment reaches them, so
the parent writes what it already worked out (its effective settings, a resolved model) as JSON
into one environment variable, and the factory reads it back with `handed_over`. The parent
does the expensive, one-time work (asking the registry, migrating a database) exactly once.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import uvicorn
from starlette.types import ASGIApp


@dataclass(frozen=True, slots=True)
class Launch:
    """How uvicorn runs one of our servers."""

    host: str
    port: int
    log_level: str
    workers: int = 1
    lifespan: Literal["auto", "on", "off"] = "auto"
    graceful_timeout: float | None = None
    """Seconds to finish in-flight requests after SIGTERM; None waits for all of them."""
    proxy_headers: bool = True
    """False when nothing reads the client address (saves a wrapper per request)."""

    def options(self) -> dict[str, Any]:
        """uvicorn's keyword arguments, the same for one process and for N."""
        return {
            "host": self.host,
            "port": self.port,
            "loop": "uvloop" if sys.platform != "win32" else "asyncio",
            "http": "httptools",
            "lifespan": self.lifespan,
            "access_log": False,  # NOTE: uvicorn's line would repeat (or replace) our own
            "log_level": self.log_level,
            "timeout_graceful_shutdown": self.graceful_timeout,
            "timeout_keep_alive": 30,
            "server_header": False,
            "proxy_headers": self.proxy_headers,
        }


def run_one(app: ASGIApp, launch: Launch) -> None:
    """Serve `app` in this process until SIGTERM/SIGINT."""
    uvicorn.Server(uvicorn.Config(app, **launch.options())).run()


def run_workers(factory: str, launch: Launch, *, env: str, handoff: Mapping[str, Any]) -> None:
    """Serve with `launch.workers` processes, each calling `factory` ("module:function").

    `handoff` (JSON-able) travels to them in the environment variable `env`.
    NOTE: it carries the real values, secrets included; mask only what is printed.
    """
    os.environ[env] = json.dumps(handoff)
    uvicorn.run(factory, factory=True, workers=launch.workers, **launch.options())


def handed_over(env: str) -> dict[str, Any]:
    """In a worker process: what the parent passed to `run_workers` under `env`."""
    raw = os.environ.get(env)
    if raw is None:
        raise RuntimeError(f"{env} is not set: this app factory runs only in a worker started by run_workers")
    data: dict[str, Any] = json.loads(raw)
    return data


__all__ = ["Launch", "handed_over", "run_one", "run_workers"]
