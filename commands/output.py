"""How commands print: MLflow's plain tables, times, JSON."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any


def when(ms: int | None) -> str:
    """Epoch milliseconds as a UTC time (`-` when unknown)."""
    if ms is None:
        return "-"
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    """MLflow's CLI table: left-aligned columns two spaces apart, a dashed line under the headers."""
    widths = [max([len(header) + 2, 4, *(len(row[i]) for row in rows)]) for i, header in enumerate(headers)]
    lines = [
        "  ".join(header.ljust(width) for header, width in zip(headers, widths, strict=True)),
        "  ".join("-" * width for width in widths),
        *("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows),
    ]
    return "\n".join(line.rstrip() for line in lines)


def to_json(value: Any, indent: int = 2) -> str:
    return json.dumps(value, indent=indent, sort_keys=True, default=str)


__all__ = ["table", "to_json", "when"]
