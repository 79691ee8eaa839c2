"""The models one server holds: each one's identity and its own settings (its URI, its name, its
batch and queue settings), resolved once by the parent process and handed to `--workers N`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shipyard.runtime.identity import ModelIdentity, resolve_model
from shipyard.runtime.model_list import check_unique
from shipyard.runtime.settings import ServeSettings


@dataclass(frozen=True, slots=True)
class Placement:
    """One served model: who it is and the settings its batcher, queue and follower use."""

    identity: ModelIdentity
    settings: ServeSettings
    weight: float | None = None
    """Its weight when it is one route of a traffic split (None: the name's only version)."""
    shadow: bool = False
    """A shadow: gets a copy of every request of its name after the answer (`runtime/shadow.py`)."""


def resolve_placements(settings: ServeSettings) -> list[Placement]:
    """Resolve `-m` (one model) or every entry of `models` (several) through the registry; an
    entry's routes and shadow, in `ModelEntry.targets` order, are served under its name."""
    if not settings.models:
        return [Placement(resolve_model(settings.model_uri, name=settings.name, settings=settings.base), settings)]
    identities = []
    for entry in settings.models:
        (first, *rest) = [uri for uri, _, _ in entry.targets()]
        primary = resolve_model(first, name=entry.name, settings=settings.base)
        identities.append(primary)
        identities.extend(resolve_model(uri, name=primary.name, settings=settings.base) for uri in rest)
    return placements_of(settings, identities)


def placements_of(settings: ServeSettings, identities: Sequence[ModelIdentity]) -> list[Placement]:
    """Already-resolved identities (the worker hand-off) with their per-model settings."""
    if not settings.models:
        (identity,) = identities
        return [Placement(identity, settings)]
    targets = [(entry, target) for entry in settings.models for target in entry.targets()]
    if len(targets) != len(identities):
        raise ValueError(f"{len(identities)} identities for {len(targets)} model targets")
    firsts = [i for i, (entry, target) in enumerate(targets) if i == 0 or targets[i - 1][0] is not entry]
    check_unique([identities[i].name for i in firsts])
    placements = []
    for (entry, (uri, weight, shadow)), identity in zip(targets, identities, strict=True):
        update: dict[str, Any] = {"model_uri": uri, "name": identity.name, "models": (), **entry.overrides()}
        placements.append(Placement(identity, settings.model_copy(update=update), weight=weight, shadow=shadow))
    return placements


__all__ = ["Placement", "placements_of", "resolve_placements"]
