"""What an import did, per kind of record: how many were added and how many were already there."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

KINDS = (
    "experiments",
    "experiment tags",
    "runs",
    "params",
    "run tags",
    "metrics",
    "datasets",
    "registered models",
    "model tags",
    "versions",
    "version tags",
    "aliases",
)
"""Every kind counted, in the order the import copies them."""

Progress = Callable[[str, int, int], None]
"""Called as (kind, done, total) while a kind is copied (the CLI draws it; tests may record it)."""


def no_progress(_kind: str, _done: int, _total: int) -> None:
    """The default: show nothing."""


@dataclass
class KindCount:
    added: int = 0
    present: int = 0


@dataclass
class ImportReport:
    """Counts per kind, experiment ids that could not be kept, and records left out (with why)."""

    counts: dict[str, KindCount] = field(default_factory=lambda: {kind: KindCount() for kind in KINDS})
    renumbered: dict[str, str] = field(default_factory=dict)
    """MLflow experiment id -> the Shipyard id it got (its id was taken or its name existed)."""
    skipped: list[str] = field(default_factory=list)

    def added(self, kind: str, count: int = 1) -> None:
        self.counts[kind].added += count

    def present(self, kind: str, count: int = 1) -> None:
        self.counts[kind].present += count

    @property
    def total_added(self) -> int:
        return sum(count.added for count in self.counts.values())


__all__ = ["KINDS", "ImportReport", "KindCount", "Progress", "no_progress"]
