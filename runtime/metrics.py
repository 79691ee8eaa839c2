"""Prometheus metrics of one server process, in its own registry (no module-level globals).

Every series carries the served model's labels (name, version, stage/alias, digest). With
`--workers N` each process exposes its own counts; scrape each, or run one process per container.
The queue depth is read when scraped (`render` takes it), so the metrics need no reference to the
served model they describe: they are built first, and the model reports its batches to them.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)
MODEL_LABELS = ("model_name", "model_version", "model_stage", "model_digest")


class ServeMetrics:
    """Request counts by status, latency and batch-size histograms, queue depth."""

    CONTENT_TYPE = CONTENT_TYPE_LATEST

    def __init__(self, model_labels: dict[str, str]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = [model_labels.get(name, "") for name in MODEL_LABELS]
        self._labels = labels
        self.requests = Counter(
            "shipyard_requests",
            "HTTP requests answered, by route and status.",
            (*MODEL_LABELS, "method", "route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "shipyard_request_duration_seconds",
            "Time from request start to response end.",
            (*MODEL_LABELS, "route"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_rows = Histogram(
            "shipyard_batch_rows",
            "Rows per predict call.",
            MODEL_LABELS,
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        ).labels(*labels)
        self.batch_requests = Histogram(
            "shipyard_batch_requests",
            "Requests merged into one predict call.",
            MODEL_LABELS,
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        ).labels(*labels)
        self.queue_depth = Gauge(
            "shipyard_queue_depth",
            "Requests waiting for predict.",
            MODEL_LABELS,
            registry=self.registry,
        ).labels(*labels)
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = (
                self.requests.labels(*self._labels, method, route, str(status)),
                self.latency.labels(*self._labels, route),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def observe_batch(self, requests: int, rows: int) -> None:
        self.batch_requests.observe(requests)
        self.batch_rows.observe(rows)

    def render(self, queue_depth: int) -> bytes:
        """The Prometheus text of every series, with the queue depth as it is now."""
        self.queue_depth.set(queue_depth)
        return generate_latest(self.registry)


__all__ = ["ServeMetrics"]
