"""The MLflow command names (`shipyard experiments`, `runs`, `artifacts`, `gc`, `db`, `ui`,
`models serve|predict|build-docker`): one module per group, each a thin entry into the clients,
stores and functions the Python API uses.

NOTE: nothing is imported here: the root `cli.py` names each command by import string
(`COMMANDS`), so a command's module is imported only when it runs (the serving image has no
SQLAlchemy, and `shipyard serve` must start without it).
"""

from __future__ import annotations

__all__: list[str] = []
