"""What one serving process holds, built before its app so that nothing is wired up afterwards.

Order of construction: thread pool, metrics, served model (which reports each batch and each swap
to the metrics), and the follower when the model URI moves. The app, its front door and its
access log are then built around this state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import Request

from shipyard.exceptions import ResourceNotFound
from shipyard.registry.watch import RegistryWatch, is_moving
from shipyard.runtime.follow import Follower
from shipyard.runtime.metrics import ServeMetrics
from shipyard.runtime.model import FailedTarget, ModelIdentity, ServedModel
from shipyard.runtime.model_set import Placement
from shipyard.runtime.settings import ServeSettings
from shipyard.runtime.shadow import Shadow
from shipyard.runtime.traffic import Router, Split, route_key
from shipyard.runtime.workers import Workers


def follows(settings: ServeSettings) -> bool:
    """`--follow` as given, else on for a URI that can move (a stage, an alias, `latest`)."""
    return is_moving(settings.model_uri) if settings.follow is None else settings.follow


@dataclass(frozen=True, slots=True)
class ServeState:
    """The settings, thread pool, metrics, served models and followers of one process.

    `served` is the first model (the one `/invocations` and the one-model routes answer with);
    `models` has every model by name (the same one alone, with one model; a split's first route);
    `traffic` the names with a traffic split or a shadow; `every` every served version (the
    routes and shadows included), each loaded, followed and closed on its own."""

    settings: ServeSettings
    workers: Workers
    metrics: ServeMetrics
    served: ServedModel
    models: dict[str, ServedModel]
    followers: tuple[Follower, ...] = ()
    traffic: dict[str, Split] = field(default_factory=dict)
    every: tuple[ServedModel, ...] = ()

    @property
    def routed(self) -> list[ServedModel]:
        """Every version that answers callers (not the shadows): the server is ready when they are."""
        shadows = {id(s.shadow.served) for s in self.traffic.values() if s.shadow is not None}
        return [served for served in self.every or self.models.values() if id(served) not in shadows]

    @property
    def follower(self) -> Follower | None:
        """The first model's follower (None when it does not follow)."""
        return next((f for f in self.followers if f.served is self.served), None)

    @property
    def several(self) -> bool:
        return len(self.models) > 1

    @classmethod
    def build(cls, settings: ServeSettings, identity: ModelIdentity, *, metrics_dir: Path | None = None) -> ServeState:
        """One model; nothing is loaded yet: the app's lifespan starts the load (and the follower)."""
        return cls.build_many(settings, [Placement(identity, settings)], metrics_dir=metrics_dir)

    @classmethod
    def build_many(
        cls, settings: ServeSettings, placements: Sequence[Placement], *, metrics_dir: Path | None = None
    ) -> ServeState:
        """`metrics_dir`: the directory all `--workers N` processes count their metrics into."""
        workers = Workers(settings.threads)
        metrics = ServeMetrics(placements[0].identity.labels(), shared_dir=metrics_dir)
        groups: dict[str, list[tuple[Placement, ServedModel]]] = {}
        followers = []
        for index, placement in enumerate(placements):
            served = ServedModel(
                placement.identity,
                placement.settings,
                workers,
                batch_observer=lambda identity: metrics.batch_observer(identity.labels()),
                on_swap=(lambda now: metrics.relabel(now.labels())) if index == 0 else None,
            )
            groups.setdefault(placement.identity.name, []).append((placement, served))
            if follows(placement.settings):
                followers.append(_follower(served, placement.settings, metrics))
        models = {name: group[0][1] for name, group in groups.items()}
        traffic = {name: split for name, group in groups.items() if (split := _split(name, group, metrics))}
        every = tuple(served for group in groups.values() for _, served in group)
        return cls(settings, workers, metrics, next(iter(models.values())), models, tuple(followers), traffic, every)


def _split(name: str, group: list[tuple[Placement, ServedModel]], metrics: ServeMetrics) -> Split | None:
    """The split or shadow of one name (None for a plain model: its hot path stays as it is)."""
    routes = [(p, served) for p, served in group if not p.shadow]
    shadows = [served for p, served in group if p.shadow]
    if len(routes) == 1 and not shadows:
        return None
    router = Router([1.0 if p.weight is None else p.weight for p, _ in routes])
    shadow = Shadow(shadows[0], metrics) if shadows else None
    return Split(name, tuple(served for _, served in routes), router, shadow)


def _follower(served: ServedModel, settings: ServeSettings, metrics: ServeMetrics) -> Follower:
    def report(failed: FailedTarget | None) -> None:
        metrics.follow_failed(served.identity.name, None if failed is None else (failed.version or "", failed.reason))

    watch = RegistryWatch(settings.model_uri, settings=settings.base)
    return Follower(served, watch, interval=settings.poll_interval, name=settings.name, on_failure=report)


def state_of(request: Request) -> ServeState:
    """The state of the app serving `request` (set once, when the app is built)."""
    state: ServeState = request.app.state.serve
    return state


def served_model(request: Request) -> ServedModel:
    return state_of(request).served


def model_named(request: Request, name: str) -> ServedModel:
    """The model served under `name`; 404 naming the models served here."""
    models = state_of(request).models
    served = models.get(name)
    if served is None:
        listed = ", ".join(repr(n) for n in models)
        raise ResourceNotFound(f"model {name!r} is not served here; this server serves {listed}")
    return served


def routed_model(request: Request, name: str, version: str | None) -> ServedModel:
    """The model answering one request under `name`: a split's route by `version` when given,
    else by the request's route key; 404 naming what is served."""
    split = state_of(request).traffic.get(name)
    if split is None:
        return model_named(request, name)
    if version is not None:
        return split.version(version)
    return split.choose(route_key(request.scope["headers"]))


__all__ = ["ServeState", "follows", "model_named", "routed_model", "served_model", "state_of"]
