"""Several models in one `serve`: `-m [name=]URI` repeated, or a YAML model list (`--models FILE`).

    models:
      - name: iris
        uri: models:/iris@champion
        max_batch_size: 64          # optional: per-model batch and queue settings
      - uri: models:/fraud/Production   # name: the registered model's
      - name: flowers                 # a traffic split: each request to one route, by weight
        routes: [{uri: models:/flowers@champion, weight: 90}, {uri: models:/flowers@challenger, weight: 10}]
        shadow: models:/flowers@next  # a copy of every request, after the answer (runtime/shadow.py)

Each entry gets its own batcher, queue, readiness and (for a stage or alias) follower; the other
settings are the server's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shipyard.exceptions import InvalidInput

_NAMED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]*)=(.+)$")
"""`iris=models:/iris@champion`: a name, `=`, then the URI (a URI's own `=` comes later)."""
_WEIGHTED = re.compile(r"^(.*[:/].*):([^:/]*)$")
"""`models:/iris@champion:90`: a URI, then `:` and a weight (a URI's own `:` is followed by a `/`)."""


class RouteEntry(BaseModel):
    """One route of a traffic split: a URI and its share of the requests (weights need not sum to 100)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    uri: str = Field(min_length=1)
    weight: float = Field(ge=0)


class ModelEntry(BaseModel):
    """One model of a several-model server; unset batch fields take the server's settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    uri: str = ""
    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    routes: tuple[RouteEntry, ...] = ()
    """A traffic split: each request goes to one route, by weight (instead of `uri`)."""
    shadow: str | None = Field(default=None, min_length=1)
    """A copy of every request goes to this URI after the answer (never delaying or failing it)."""
    max_batch_size: int | None = Field(default=None, ge=1)
    max_batch_delay_ms: float | None = Field(default=None, ge=0)
    max_queue: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one_primary(self) -> ModelEntry:
        if bool(self.uri) == bool(self.routes):
            raise ValueError("give either 'uri' or 'routes' (a traffic split), exactly one of them")
        if self.routes and sum(r.weight for r in self.routes) <= 0:
            raise ValueError("the route weights sum to 0; give at least one route a weight above 0")
        return self

    def targets(self) -> list[tuple[str, float | None, bool]]:
        """(URI, weight, is_shadow) of every version this entry serves: the routes (or the one
        URI, weight None), then the shadow."""
        targets: list[tuple[str, float | None, bool]] = [(r.uri, r.weight, False) for r in self.routes]
        if not targets:
            targets.append((self.uri, None, False))
        if self.shadow:
            targets.append((self.shadow, None, True))
        return targets

    def overrides(self) -> dict[str, object]:
        """The per-model settings this entry sets (for `ServeSettings.model_copy`)."""
        fields = ("max_batch_size", "max_batch_delay_ms", "max_queue")
        return {f: getattr(self, f) for f in fields if getattr(self, f) is not None}


def entry_of_flag(text: str) -> ModelEntry:
    """`-m name=URI` or `-m URI`."""
    match = _NAMED.match(text)
    return ModelEntry(name=match.group(1), uri=match.group(2)) if match else ModelEntry(uri=text)


def entries_of_flags(texts: Sequence[str], shadows: Sequence[str] = ()) -> tuple[ModelEntry, ...]:
    """`-m` flags (`-m NAME=URI:WEIGHT` repeated under one name makes a split) and `--shadow [NAME=]URI`."""
    plain: list[ModelEntry] = []
    splits: dict[str, list[RouteEntry]] = {}
    for text in texts:
        entry = entry_of_flag(text)
        weighted = _WEIGHTED.match(entry.uri) if entry.name is not None else None
        if weighted is None:
            plain.append(entry)
            continue
        assert entry.name is not None
        splits.setdefault(entry.name, []).append(
            RouteEntry(uri=weighted.group(1), weight=_weight(text, weighted.group(2)))
        )
    entries = []
    for entry in plain:
        if entry.name in splits:
            raise InvalidInput(
                f"-m {entry.name}=...: model {entry.name!r} is given both as a plain -m {entry.name}=URI and as a "
                f"traffic split (-m {entry.name}=URI:WEIGHT); give every -m of a split its weight"
            )
        entries.append(entry)
    for name, routes in splits.items():
        if sum(route.weight for route in routes) <= 0:
            raise InvalidInput(
                f"-m {name}=URI:WEIGHT: the weights of model {name!r} sum to 0; give a route a weight above 0"
            )
        entries.append(ModelEntry(name=name, routes=tuple(routes)))
    return with_shadows(tuple(entries), shadows)


def _weight(text: str, given: str) -> float:
    try:
        weight = float(given)
    except ValueError:
        weight = -1.0
    if not weight >= 0 or weight == float("inf"):  # NOTE: `not >=` also refuses nan
        raise InvalidInput(f"-m {text!r}: weight {given!r} is not a number >= 0 (write -m NAME=URI:WEIGHT, e.g. :90)")
    return weight


def with_shadows(entries: tuple[ModelEntry, ...], shadows: Sequence[str]) -> tuple[ModelEntry, ...]:
    """`--shadow [NAME=]URI` attached to the entry it names (to the only one when unnamed)."""
    result = list(entries)
    for text in shadows:
        shadow = entry_of_flag(text)
        if shadow.name is None:
            if len(result) != 1:
                raise InvalidInput(
                    f"--shadow {text!r}: this server serves {len(result)} models; say which one it shadows "
                    "(--shadow NAME=URI)"
                )
            index = 0
        else:
            index = next((i for i, e in enumerate(result) if e.name == shadow.name), -1)
            if index < 0:
                raise InvalidInput(
                    f"--shadow {text!r}: no model is served under the name {shadow.name!r} (-m NAME=URI)"
                )
        if result[index].shadow is not None:
            raise InvalidInput(f"--shadow {text!r}: that model already has a shadow ({result[index].shadow!r})")
        result[index] = result[index].model_copy(update={"shadow": shadow.uri})
    return tuple(result)


def read_model_list(path: Path) -> tuple[ModelEntry, ...]:
    """The entries of a YAML model list; errors name the file, the entry and the field."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(f"--models {str(path)!r}: cannot read it: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise InvalidInput(f"--models {str(path)!r} is not YAML: {exc}") from None
    items = document.get("models") if isinstance(document, dict) else None
    if not isinstance(items, list) or not items:
        raise InvalidInput(f"--models {str(path)!r}: expected a non-empty list under the key 'models'")
    entries = []
    for index, item in enumerate(items):
        try:
            entries.append(ModelEntry.model_validate(item))
        except ValidationError as exc:
            problem = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'entry'}: {e['msg']}" for e in exc.errors())
            raise InvalidInput(f"--models {str(path)!r}: models[{index}]: {problem}") from None
    return tuple(entries)


def check_unique(names: list[str]) -> None:
    """Two models under one name could not be told apart by /models/{name}/invocations."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InvalidInput(f"model name {name!r} is given twice; give each model its own name (-m NAME=URI)")
        seen.add(name)


__all__ = [
    "ModelEntry",
    "RouteEntry",
    "check_unique",
    "entries_of_flags",
    "entry_of_flag",
    "read_model_list",
    "with_shadows",
]
