"""Prometheus metrics of one server process, in its own registry (no module-level globals).

Every series carries the served model's labels (name, version, stage/alias, digest). With
`--workers N` every worker counts into one shared directory (`runtime/metrics_shared.py`), so a
scrape reaching any worker sees the whole server's counts.
The queue depth is read when scraped (`render` takes it), so the metrics need no reference to the
served model they describe: they are built first, and the model reports its batches to them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from shipyard.runtime.metrics_shared import render_shared

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

    def __init__(self, model_labels: dict[str, str], *, shared_dir: Path | None = None) -> None:
        """`shared_dir`: the directory every worker of this server counts into (`--workers N`)."""
        self.shared_dir = shared_dir
        self.registry = CollectorRegistry(auto_describe=True)
        if shared_dir is None:
            ProcessCollector(registry=self.registry)
        labels = [model_labels.get(name, "") for name in MODEL_LABELS]
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
        self._batch_rows_family = Histogram(
            "shipyard_batch_rows",
            "Rows per predict call.",
            MODEL_LABELS,
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self._batch_requests_family = Histogram(
            "shipyard_batch_requests",
            "Requests merged into one predict call.",
            MODEL_LABELS,
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self._queue_depth_family = Gauge(
            "shipyard_queue_depth",
            "Requests waiting for predict.",
            MODEL_LABELS,
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.follow_failed_target = Gauge(
            "shipyard_follow_failed_target",
            "1 for the version a registry move named and the server could not swap to (it keeps the old).",
            ("model_name", "target_version", "reason"),
            registry=self.registry,
            multiprocess_mode="liveall",
        )
        shadow_labels = ("model_name", "shadow_version", "primary_version")
        self.shadow_requests = Counter(
            "shipyard_shadow_requests",
            "Copies sent to a shadow, by outcome (ok, an error code, or skipped: too many in flight).",
            (*shadow_labels, "outcome"),
            registry=self.registry,
        )
        self.shadow_latency = Histogram(
            "shipyard_shadow_duration_seconds",
            "Time a shadow took to answer its copy (it never delays the caller).",
            shadow_labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.shadow_rows = Counter(
            "shipyard_shadow_rows",
            "Predictions a shadow made on a request the primary answered with 200.",
            shadow_labels,
            registry=self.registry,
        )
        self.shadow_disagreements = Counter(
            "shipyard_shadow_disagreements",
            "Of shipyard_shadow_rows, those that differ from the primary's (share = the ratio of the two).",
            shadow_labels,
            registry=self.registry,
        )
        self._failed: dict[str, tuple[str, str]] = {}
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._bind(labels)

    def _bind(self, labels: list[str]) -> None:
        self._labels = labels
        self._children = {}
        self.batch_rows = self._batch_rows_family.labels(*labels)
        self.batch_requests = self._batch_requests_family.labels(*labels)
        self.queue_depth = self._queue_depth_family.labels(*labels)

    def relabel(self, model_labels: dict[str, str]) -> None:
        """The model swapped to another version: later series carry its labels (the old
        version's counts stay, under its own labels)."""
        self.queue_depth.set(0)
        self._bind([model_labels.get(name, "") for name in MODEL_LABELS])

    def follow_failed(self, model_name: str, failed: tuple[str, str] | None) -> None:
        """(target version, reason) of a model's swap that failed; None once a swap succeeded."""
        previous = self._failed.pop(model_name, None)
        if previous is not None:
            self.follow_failed_target.remove(model_name, *previous)
        if failed is not None:
            version, reason = failed
            self._failed[model_name] = (version, reason[:200])
            self.follow_failed_target.labels(model_name, version, reason[:200]).set(1)

    def observe_shadow(self, labels: tuple[str, str, str], outcome: str, seconds: float | None = None) -> None:
        """One copy sent to a shadow: `labels` (model name, shadow version, primary version);
        `seconds` it took (None when it never ran)."""
        self.shadow_requests.labels(*labels, outcome).inc()
        if seconds is not None:
            self.shadow_latency.labels(*labels).observe(seconds)

    def observe_disagreement(self, labels: tuple[str, str, str], rows: int, differing: int) -> None:
        """How many of a shadow's `rows` predictions differ from the primary's."""
        self.shadow_rows.labels(*labels).inc(rows)
        self.shadow_disagreements.labels(*labels).inc(differing)

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

    def batch_observer(self, model_labels: dict[str, str]) -> Callable[[int, int], None]:
        """`observe_batch` under another model version's labels (a swapped-in version, or one
        of several models served side by side), so batch series name the version that ran them."""
        labels = [model_labels.get(name, "") for name in MODEL_LABELS]
        requests_child = self._batch_requests_family.labels(*labels)
        rows_child = self._batch_rows_family.labels(*labels)

        def observe(requests: int, rows: int) -> None:
            requests_child.observe(requests)
            rows_child.observe(rows)

        return observe

    def observe_queue(self, model_labels: dict[str, str], depth: int) -> None:
        """The queue depth of a model served beside the first one (read when scraped)."""
        self._queue_depth_family.labels(*(model_labels.get(name, "") for name in MODEL_LABELS)).set(depth)

    def render(self, queue_depth: int) -> bytes:
        """The Prometheus text of every series, with the queue depth as it is now.

        NOTE: with `--workers N` the depth summed is each worker's as of its own last scrape; the
        counters and histograms are exact."""
        self.queue_depth.set(queue_depth)
        if self.shared_dir is not None:
            return render_shared(self.shared_dir)
        return generate_latest(self.registry)


__all__ = ["ServeMetrics"]
