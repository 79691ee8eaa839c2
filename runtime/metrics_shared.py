"""One `/metrics` for `shipyard serve --workers N`: prometheus-client's multiprocess mode.

Each worker process counts into memory-mapped files in one directory per server; whichever worker
a scrape reaches reads them all, so counters add up over the workers and never jump back. The
parent makes the directory fresh at start (and removes those of servers that were killed) and
removes it at exit.

NOTE: prometheus-client chooses how it stores values when it is first imported, from the variable
PROMETHEUS_MULTIPROC_DIR. The parent sets it before uvicorn starts the workers, which uvicorn does
with the "spawn" method (fresh interpreters that import everything again), never afterwards.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from shipyard.registry.storage import pid_alive

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_PREFIX = "shipyard-metrics-"
_DIRECTORY = re.compile(rf"^{_PREFIX}(\d+)-")
_VALUE_FILE = re.compile(r"_(\d+)\.db$")


@contextlib.contextmanager
def shared_metrics_directory(root: Path | None = None) -> Iterator[Path]:
    """A fresh directory for this server's workers, named in the environment they inherit."""
    base = Path(root or tempfile.gettempdir())
    _remove_orphans(base)
    path = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-", dir=base))
    previous = os.environ.get(MULTIPROC_ENV)
    os.environ[MULTIPROC_ENV] = str(path)
    try:
        yield path
    finally:
        if previous is None:
            os.environ.pop(MULTIPROC_ENV, None)
        else:
            os.environ[MULTIPROC_ENV] = previous
        shutil.rmtree(path, ignore_errors=True)


def _remove_orphans(base: Path) -> None:
    """Directories left by servers that were killed before they could remove their own."""
    for entry in base.glob(f"{_PREFIX}*"):
        match = _DIRECTORY.match(entry.name)
        if match and not pid_alive(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)


def worker_pids(path: Path) -> list[int]:
    """The processes that have written values into `path` (prometheus-client names files by pid)."""
    pids = {int(m.group(1)) for f in path.glob("*.db") if (m := _VALUE_FILE.search(f.name))}
    return sorted(pids)


class WorkerProcesses(Collector):
    """The standard `process_*` series for the whole server: summed over the live workers (CPU,
    memory, open files), the earliest start time, the largest file limit."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def collect(self) -> Iterable[Metric]:
        totals: dict[str, float] = {}
        docs: dict[str, str] = {}
        for pid in worker_pids(self._path):
            if not pid_alive(pid):
                continue
            for family in ProcessCollector(pid=functools.partial(str, pid), registry=None).collect():
                name = family.name if family.type != "counter" else f"{family.name}_total"
                value = family.samples[0].value
                docs[name] = family.documentation
                if name == "process_start_time_seconds":
                    totals[name] = min(totals.get(name, value), value)
                elif name == "process_max_fds":
                    totals[name] = max(totals.get(name, value), value)
                else:
                    totals[name] = totals.get(name, 0.0) + value
        for name, value in totals.items():
            if name == "process_cpu_seconds_total":
                yield CounterMetricFamily("process_cpu_seconds", docs[name], value=value)
            else:
                yield GaugeMetricFamily(name, docs[name], value=value)


def render_shared(path: Path) -> bytes:
    """The Prometheus text of every worker's series, added up, plus the process series."""
    for pid in worker_pids(path):
        if not pid_alive(pid):
            # NOTE: drops the "live" gauges (queue depth) of a worker that died; its counters stay,
            # so totals never go back.
            mark_process_dead(pid, str(path))  # type: ignore[no-untyped-call]
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(path))  # type: ignore[no-untyped-call]
    registry.register(WorkerProcesses(path))
    return generate_latest(registry)


__all__ = ["MULTIPROC_ENV", "WorkerProcesses", "render_shared", "shared_metrics_directory", "worker_pids"]
