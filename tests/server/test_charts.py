"""Server-rendered metric charts: one polyline per run, escaped labels, bounded size."""

from __future__ import annotations

import math

from shipyard.server.charts import MAX_POINTS, Series, render_chart, thin
from shipyard.tracking.entities import Metric


def test_chart_overlays_runs_and_escapes_labels() -> None:
    first = Series("<b>run</b>", [Metric("loss", 1.0 / (s + 1), 0, s) for s in range(5)])
    second = Series("other", [Metric("loss", float(s), 0, s) for s in range(3)] + [Metric("loss", math.nan, 0, 3)])
    svg = render_chart("loss", [first, second])
    assert svg.startswith("<svg") and svg.count("<polyline") == 2
    assert "<b>" not in svg and "&lt;b&gt;run&lt;/b&gt;" in svg
    assert 'data-metric="loss"' in svg


def test_chart_without_finite_values_says_so() -> None:
    assert "no finite values" in render_chart("x", [Series("r", [Metric("x", math.inf, 0, 0)])])


def test_long_histories_are_thinned_keeping_the_last_point() -> None:
    points = [(step, float(step)) for step in range(100_001)]
    kept = thin(points)
    assert len(kept) <= MAX_POINTS + 1 and kept[0] == points[0] and kept[-1] == points[-1]
    assert thin(points[:10]) == points[:10]
