"""Telling the registry who serves what: each poll interval, a server with a tracking (or
registry) URI reports its host, port, pid, start time and, per registered model, the versions it
serves and whether they are ready (`registry/deployments`).

The registry keeps each report for `TTL_POLLS` poll intervals, so a server killed with SIGKILL
drops out of the listing by itself; a clean shutdown removes its records at once. Reporting runs
off the event loop and never slows or breaks serving: a failed report is logged once per streak
of failures (and once when reports get through again) and retried at the next interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from shipyard.registry.deployments import DeploymentReport, ServedVersions
from shipyard.registry.store import AbstractRegistryStore, get_registry_store
from shipyard.registry.uris import MODELS_SCHEME, parse_models_uri
from shipyard.runtime.model import ServedModel
from shipyard.runtime.settings import ServeSettings
from shipyard.tracking.fluent_state import http_for, resolve_registry_uri
from shipyard.tracking.http_settings import POLL_TIMEOUT_S

logger = logging.getLogger("shipyard.runtime")

TTL_POLLS = 3
"""A record lives this many poll intervals past its last report."""
_WILDCARD_HOSTS = ("", "0.0.0.0", "::")


def registered_name(uri: str) -> str | None:
    """The registered model a `models:/<name>/...` or `models:/<name>@...` URI names (None otherwise)."""
    if not uri.lower().startswith(MODELS_SCHEME + ":"):
        return None
    parsed = parse_models_uri(uri)
    return None if parsed.logged_model_id is not None else parsed.name


def served_versions(models: Sequence[ServedModel]) -> tuple[ServedVersions, ...]:
    """Per registered model: the versions answering now (several under a split), all ready or not.
    `models`: every version that answers callers (`ServeState.routed`: the routes, not shadows)."""
    grouped: dict[str, list[ServedModel]] = {}
    for served in models:
        name = registered_name(served.settings.model_uri)
        if name is not None and served.identity.version is not None:
            grouped.setdefault(name, []).append(served)
    return tuple(
        ServedVersions(
            name,
            tuple(dict.fromkeys(str(s.identity.version) for s in group)),
            all(s.ready for s in group),
            ",".join(dict.fromkeys(s.settings.model_uri for s in group)),
        )
        for name, group in grouped.items()
    )


@dataclass(frozen=True, slots=True)
class ServerIdentity:
    """Who this process is, fixed for its lifetime."""

    server_id: str
    host: str
    port: int
    pid: int
    started_at: int

    @classmethod
    def of(cls, settings: ServeSettings) -> ServerIdentity:
        host = socket.gethostname() if settings.host in _WILDCARD_HOSTS else settings.host
        return cls(uuid.uuid4().hex, host, settings.port, os.getpid(), process_start_ms())


def process_start_ms() -> int:
    """When this process started (Linux's /proc), else now: epoch milliseconds."""
    # NOTE: /proc/self/stat's field 22 counts clock ticks since boot; the command name (field 2)
    # may hold spaces and parentheses, so fields are counted after the last ')'.
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/self/stat") as stat:
            ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as uptime:
            up = float(uptime.read().split()[0])
        return int((time.time() - up + ticks / os.sysconf("SC_CLK_TCK")) * 1000)
    return int(time.time() * 1000)


class DeploymentReporter:
    """The reporting loop of one serving process; `run` until cancelled, then `close`."""

    def __init__(
        self,
        store: AbstractRegistryStore,
        models: Sequence[ServedModel],
        server: ServerIdentity,
        *,
        interval: float,
    ) -> None:
        self.store = store
        self.models = models
        self.server = server
        self.interval = interval
        self.last_error: str | None = None
        """Why the last report failed (None once one got through)."""

    def report(self) -> DeploymentReport:
        s = self.server
        return DeploymentReport(
            s.server_id, s.host, s.port, s.pid, s.started_at, self.interval * TTL_POLLS, served_versions(self.models)
        )

    async def report_once(self) -> bool:
        """One report; False (logged once per streak of failures) when the registry did not take it."""
        try:
            await asyncio.to_thread(self.store.report_deployment, self.report())
        except Exception as exc:  # NOTE: the registry being down must never stop serving
            if self.last_error is None:
                logger.warning("could not report this server's deployment to the registry (retrying quietly): %s", exc)
            self.last_error = str(exc)
            return False
        if self.last_error is not None:
            logger.info("reporting this server's deployment to the registry again")
        self.last_error = None
        return True

    async def run(self, loading: asyncio.Future[None]) -> None:
        """Report at once (loading), right after the models are ready, then every interval."""
        await self.report_once()
        with contextlib.suppress(Exception):
            await asyncio.shield(loading)
        while True:
            await self.report_once()
            await asyncio.sleep(self.interval)

    async def close(self) -> None:
        """Forget this server in the registry (bounded by the polling client's timeout, also when
        the store is not REST: past it the TTL does it)."""
        try:
            await asyncio.wait_for(
                asyncio.to_thread(self.store.remove_deployment, self.server.server_id), POLL_TIMEOUT_S
            )
        except TimeoutError:
            logger.warning(
                "could not remove this server's deployment record (it expires by itself): "
                "the registry did not answer within %s s",
                POLL_TIMEOUT_S,
            )
        except Exception as exc:
            logger.warning("could not remove this server's deployment record (it expires by itself): %s", exc)


def reports(settings: ServeSettings, models: Sequence[ServedModel]) -> bool:
    """Only a server given a tracking or registry URI, serving a registered model, reports."""
    base = settings.base
    return bool(base.tracking_uri or base.registry_uri) and bool(served_versions(models))


def deployment_reporter(settings: ServeSettings, models: Sequence[ServedModel]) -> DeploymentReporter:
    """Blocking (opening a SQL store migrates it): call it off the event loop."""
    http = http_for(settings.base).for_polling()
    store = get_registry_store(resolve_registry_uri(None, settings.base, None), None, http)
    return DeploymentReporter(store, models, ServerIdentity.of(settings), interval=settings.poll_interval)


async def report_while_serving(
    settings: ServeSettings, models: Sequence[ServedModel], loading: asyncio.Future[None]
) -> None:
    """The lifespan's task: report until cancelled, then remove this server's records."""
    try:
        if not reports(settings, models):
            return
        reporter = await asyncio.to_thread(deployment_reporter, settings, models)
    except Exception as exc:  # NOTE: a registry that cannot be opened must not stop serving
        logger.warning("not reporting this server's deployment: the registry could not be opened: %s", exc)
        return
    try:
        await reporter.run(loading)
    finally:
        await reporter.close()


__all__ = [
    "TTL_POLLS",
    "DeploymentReporter",
    "ServerIdentity",
    "deployment_reporter",
    "process_start_ms",
    "registered_name",
    "report_while_serving",
    "reports",
    "served_versions",
]
