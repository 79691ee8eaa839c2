"""What every compat script shares: its arguments, and the JSON report with the normalisation of
what legitimately differs between MLflow and Shipyard — nothing else is normalised.

- ids (run, experiment, model ids): each becomes `<kind:N>`, N counting first appearances;
- absolute paths under the run's root folder: `<root>/...` (also inside `file://` URIs);
- timestamps: not recorded (the scripts report durations' signs or orderings instead);
- model version numbers and unset descriptions, where MLflow's own stores disagree (a version is
  an int from its SQL store and a str over REST; an unset description None or ""): `version()`
  and `text()`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


class Report:
    """A flat dict of results, written once at the end as sorted JSON."""

    def __init__(self) -> None:
        self.target, self.tracking_uri, root, self.out = sys.argv[1:5]
        self.root = Path(root)
        self.values: dict[str, Any] = {}
        self._ids: dict[str, dict[str, str]] = {}

    def id(self, kind: str, value: str | None) -> str | None:
        """`<kind:N>` for an id, the same token each time the same id comes back."""
        if value is None:
            return None
        seen = self._ids.setdefault(kind, {})
        return seen.setdefault(str(value), f"<{kind}:{len(seen)}>")

    def path(self, value: str) -> str:
        """An absolute path or file URI under the root, with the root replaced by `<root>`."""
        root = str(self.root.resolve())
        return value.replace("file://" + root, "<root>").replace(root, "<root>")

    def version(self, value: int | str | None) -> str | None:
        return None if value is None else str(value)

    def text(self, value: str | None) -> str | None:
        return value or None

    def __setitem__(self, key: str, value: Any) -> None:
        if key in self.values:
            raise KeyError(f"report key {key!r} written twice")
        self.values[key] = value

    def write(self) -> None:
        Path(self.out).write_text(json.dumps(self.values, indent=1, sort_keys=True, default=str))
