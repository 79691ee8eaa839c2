"""Log set-up of a server process: Shipyard's records on stderr, one format for both servers."""

from __future__ import annotations

import logging
import sys

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str) -> None:
    """Every `shipyard.*` logger writes to stderr at `level` (the access log writes its JSON itself).

    Called at each process edge: the parent's start and every worker process's app factory.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    shipyard_logger = logging.getLogger("shipyard")
    shipyard_logger.handlers[:] = [handler]
    shipyard_logger.propagate = False
    shipyard_logger.setLevel(level.upper())


__all__ = ["LOG_FORMAT", "configure_logging"]
