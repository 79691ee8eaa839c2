"""Metric charts as inline SVG, rendered on the server (no JavaScript library, nothing to fetch).

One chart per metric key; each run is one polyline over steps, so several runs overlay.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from shipyard.tracking.entities import Metric

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
WIDTH, HEIGHT = 560, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 40
MAX_POINTS = 2000


@dataclass(frozen=True)
class Series:
    label: str
    points: Sequence[Metric]


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high == low:
        return [low]
    return [low + (high - low) * i / (count - 1) for i in range(count)]


def thin(points: list[tuple[int, float]], most: int = MAX_POINTS) -> list[tuple[int, float]]:
    """At most `most` points, evenly spaced, always keeping the last (a page stays light)."""
    if len(points) <= most:
        return points
    stride = math.ceil(len(points) / most)
    kept = points[::stride]
    return kept if kept[-1] == points[-1] else [*kept, points[-1]]


def render_chart(key: str, series: Sequence[Series]) -> str:
    """An `<svg>` of every series' finite values of metric `key` over steps."""
    finite = [(m.step, m.value) for s in series for m in s.points if math.isfinite(m.value)]
    title = f"<title>{escape(key)}</title>"
    if not finite:
        return (
            f'<svg class="chart" data-metric="{escape(key)}" width="{WIDTH}" height="{HEIGHT}" role="img">{title}'
            f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">no finite values</text></svg>'
        )
    x_low, x_high = min(x for x, _ in finite), max(x for x, _ in finite)
    y_low, y_high = min(y for _, y in finite), max(y for _, y in finite)
    if y_low == y_high:
        y_low, y_high = y_low - 1, y_high + 1
    if x_low == x_high:
        x_low, x_high = x_low - 1, x_high + 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def sx(x: float) -> float:
        return LEFT + (x - x_low) / (x_high - x_low) * plot_w

    def sy(y: float) -> float:
        return TOP + plot_h - (y - y_low) / (y_high - y_low) * plot_h

    parts = [
        f'<svg class="chart" data-metric="{escape(key)}" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img">{title}',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" class="plot"/>',
    ]
    for tick in _ticks(y_low, y_high):
        y = sy(tick)
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{_fmt(tick)}</text>'
        )
    for tick in _ticks(x_low, x_high):
        x = sx(tick)
        parts.append(f'<text x="{x:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle" class="tick">{_fmt(tick)}</text>')
    parts.append(f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 4}" text-anchor="middle" class="axis">step</text>')
    for index, one in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        points = thin(sorted((m.step, m.value) for m in one.points if math.isfinite(m.value)))
        if not points:
            continue
        coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in points)
        label = escape(one.label)
        if len(points) > 1:
            parts.append(
                f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2" data-run="{label}"/>'
            )
        for x, y in points if len(points) <= 50 else points[-1:]:
            parts.append(
                f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="{color}">'
                f"<title>{label} step {x}: {_fmt(y)}</title></circle>"
            )
    parts.append("</svg>")
    return "".join(parts)


__all__ = ["MAX_POINTS", "PALETTE", "Series", "render_chart", "thin"]
