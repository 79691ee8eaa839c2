"""The compare page: selected runs side by side, a params and metrics table that highlights what
differs, overlaid metric charts, a scatter of any column against any other (drawn in the browser
from the embedded values) and parallel coordinates (an SVG rendered here)."""

from __future__ import annotations

import math
from html import escape
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from shipyard.exceptions import InvalidInput
from shipyard.server.context import context_of
from shipyard.server.ui_base import page
from shipyard.server.ui_run import json_script, metric_charts, run_label
from shipyard.tracking.entities import Run

MAX_RUNS = 100
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
WIDTH, HEIGHT, MARGIN = 900, 320, 40


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def rows_of(runs: list[Run], kind: str) -> list[dict[str, Any]]:
    """One row per param (or metric) key: each run's value and whether the values differ."""
    keys = sorted({k for r in runs for k in getattr(r.data, kind)})
    rows = []
    for key in keys:
        values = [getattr(r.data, kind).get(key) for r in runs]
        rows.append({"key": key, "values": values, "differs": len({repr(v) for v in values}) > 1})
    return rows


def parallel_svg(runs: list[Run], columns: list[tuple[str, list[float | None]]]) -> Markup:
    """Parallel coordinates: one vertical axis per numeric column, one polyline per run."""
    if len(columns) < 2:
        return Markup('<p class="hint">Parallel coordinates need at least two numeric params or metrics.</p>')
    step = (WIDTH - 2 * MARGIN) / (len(columns) - 1)
    parts = [
        f'<svg class="parallel" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="parallel coordinates of {len(runs)} runs"><title>Parallel coordinates</title>'
    ]
    scaled: list[list[float | None]] = []
    for index, (name, values) in enumerate(columns):
        x = MARGIN + index * step
        present = [v for v in values if v is not None]
        low, high = (min(present), max(present)) if present else (0.0, 1.0)
        span = (high - low) or 1.0
        scaled.append([None if v is None else (v - low) / span for v in values])
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{MARGIN}" y2="{HEIGHT - MARGIN}" class="axis-line"/>'
            f'<text x="{x:.1f}" y="{MARGIN - 14}" text-anchor="middle" class="tick">{escape(name)}</text>'
            f'<text x="{x + 4:.1f}" y="{MARGIN - 2}" class="tick">{high:.4g}</text>'
            f'<text x="{x + 4:.1f}" y="{HEIGHT - MARGIN + 12}" class="tick">{low:.4g}</text>'
        )
    for row, run in enumerate(runs):
        points = [
            f"{MARGIN + i * step:.1f},{HEIGHT - MARGIN - value * (HEIGHT - 2 * MARGIN):.1f}"
            for i, column in enumerate(scaled)
            if (value := column[row]) is not None
        ]
        color = PALETTE[row % len(PALETTE)]
        parts.append(
            f'<polyline points="{" ".join(points)}" fill="none" stroke="{color}" stroke-width="1.5" '
            f'data-run="{escape(run_label(run))}"><title>{escape(run_label(run))}</title></polyline>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every name and label above is escaped


def compare(request: Request) -> Response:
    ctx = context_of(request)
    run_ids = list(dict.fromkeys(i for value in request.query_params.getlist("runs") for i in value.split(",") if i))
    if len(run_ids) < 2:
        raise InvalidInput("compare needs at least two runs: select them in an experiment's runs table")
    if len(run_ids) > MAX_RUNS:
        raise InvalidInput(f"compare takes at most {MAX_RUNS} runs, got {len(run_ids)}")
    runs = [ctx.tracking.get_run(run_id) for run_id in run_ids]
    params, metrics = rows_of(runs, "params"), rows_of(runs, "metrics")
    numeric: list[tuple[str, list[float | None]]] = []
    for kind, rows in (("params", params), ("metrics", metrics)):
        for row in rows:
            values = [_number(v) for v in row["values"]]
            if any(v is not None for v in values):
                numeric.append((f"{kind}.{row['key']}", values))
    points = {
        "runs": [run_label(r) for r in runs],
        "columns": {name: values for name, values in numeric},
    }
    return page(
        request,
        "compare.html",
        title=f"Compare {len(runs)} runs",
        runs=runs,
        labels=[run_label(r) for r in runs],
        params=params,
        metrics=metrics,
        charts=json_script(metric_charts(request, runs)),
        points=json_script(points),
        column_names=[name for name, _ in numeric],
        parallel=parallel_svg(runs, numeric),
    )


__all__ = ["MAX_RUNS", "compare", "parallel_svg", "rows_of"]
