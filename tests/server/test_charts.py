"""What the metric charts receive: downsampled histories that keep every spike, bounded size."""

from __future__ import annotations

import math

import pytest

from shipyard.server.charts import MAX_POINTS, Series, chart_data, downsample, series_data
from shipyard.tracking.entities import Metric


def test_a_single_spike_in_5000_steps_survives_downsampling() -> None:
    values = [math.sin(step / 50) for step in range(5000)]
    values[3217] = 40.0
    values[1234] = -40.0
    series = Series("run", [Metric("loss", v, 1000 + s, s) for s, v in enumerate(values)])
    data = series_data(series, most=500)
    assert len(data["step"]) <= 500
    assert 3217 in data["step"] and max(data["value"]) == 40.0 and min(data["value"]) == -40.0
    assert data["step"][0] == 0 and data["step"][-1] == 4999 and data["step"] == sorted(data["step"])
    assert data["total"] == 5000


def test_short_histories_pass_through_and_non_finite_values_are_counted() -> None:
    points = [Metric("x", float(s), 10 * s, s) for s in range(5)] + [Metric("x", math.nan, 60, 6)]
    data = chart_data("x", [Series("a", points), Series("b", [Metric("x", math.inf, 0, 0)])])
    first, second = data["series"]
    assert first["value"] == [0.0, 1.0, 2.0, 3.0, 4.0] and first["time"] == [0, 10, 20, 30, 40]
    assert first["dropped_non_finite"] == 1 and second["value"] == [] and data["key"] == "x"


def test_downsample_bounds_and_refuses_tiny_budgets() -> None:
    kept = downsample([float(i % 97) for i in range(100_001)])
    assert len(kept) <= MAX_POINTS and kept[0] == 0 and kept[-1] == 100_000
    with pytest.raises(ValueError, match="at least 4"):
        downsample([1.0] * 10, most=3)
