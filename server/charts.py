"""What the page's metric charts receive: each run's history of one metric, downsampled on the
server so that a page stays light while every spike survives.

The drawing is done in the browser by the vendored uPlot (`static/vendor/uplot/`); this module
only decides which points travel. Downsampling keeps the minimum and the maximum of each bucket
(plus the first and last point), so a single outlier among 5,000 steps is still on the chart;
evenly spaced thinning would drop it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shipyard.tracking.entities import Metric

MAX_POINTS = 2000
"""Most points of one series sent to a page."""


@dataclass(frozen=True)
class Series:
    label: str
    points: Sequence[Metric]


def downsample(values: Sequence[float], most: int = MAX_POINTS) -> list[int]:
    """Indices (ascending) of at most `most` points of `values` keeping each bucket's min and max.

    NOTE: `most` below 4 cannot keep both ends and an extreme, so it is refused."""
    if most < 4:
        raise ValueError(f"most must be at least 4, got {most}")
    count = len(values)
    if count <= most:
        return list(range(count))
    buckets = (most - 2) // 2
    kept = {0, count - 1}
    size = (count - 2) / buckets
    for bucket in range(buckets):
        start = 1 + int(bucket * size)
        stop = max(start + 1, 1 + int((bucket + 1) * size))
        window = range(start, min(stop, count - 1))
        if not window:
            continue
        kept.add(min(window, key=values.__getitem__))
        kept.add(max(window, key=values.__getitem__))
    return sorted(kept)


def series_data(series: Series, most: int = MAX_POINTS) -> dict[str, Any]:
    """One run's finite points, ordered by step then time, downsampled; JSON-ready columns."""
    finite = sorted(
        ((m.step, m.timestamp, m.value) for m in series.points if math.isfinite(m.value)),
        key=lambda point: (point[0], point[1]),
    )
    values = [value for _, _, value in finite]
    kept = downsample(values, most)
    return {
        "label": series.label,
        "step": [finite[i][0] for i in kept],
        "time": [finite[i][1] for i in kept],
        "value": [values[i] for i in kept],
        "total": len(series.points),
        "dropped_non_finite": len(series.points) - len(finite),
    }


def chart_data(key: str, series: Sequence[Series], most: int = MAX_POINTS) -> dict[str, Any]:
    """Everything one chart of metric `key` needs, for the page's embedded JSON."""
    return {"key": key, "series": [series_data(one, most) for one in series]}


__all__ = ["MAX_POINTS", "Series", "chart_data", "downsample", "series_data"]
