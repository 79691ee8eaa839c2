"""One progress bar for big transfers (artifact proxy, object stores), on a terminal only."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

PROGRESS_MIN_BYTES = 8 * 1024 * 1024


@contextlib.contextmanager
def progress_bar(description: str, total: int) -> Iterator[Callable[[int], None] | None]:
    """A rich progress bar for big transfers on a terminal; otherwise nothing."""
    if total < PROGRESS_MIN_BYTES or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    with Progress(
        "[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(), transient=True
    ) as bar:
        task = bar.add_task(description, total=total)
        yield lambda count: bar.advance(task, count)


__all__ = ["PROGRESS_MIN_BYTES", "progress_bar"]
