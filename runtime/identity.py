"""Who a served model version is: shown by /version and /v2/models/{name}, and on every metric."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shipyard.exceptions import InvalidInput
from shipyard.registry.uris import ResolvedModel, resolve_model_uri
from shipyard.settings import Settings


@dataclass(frozen=True)
class ModelIdentity:
    """Name, where the directory is, and (for registered models) version, stage, aliases, digest."""

    name: str
    local_path: str
    source_uri: str
    version: str | None = None
    stage: str | None = None
    aliases: tuple[str, ...] = field(default_factory=tuple)
    digest: str | None = None
    run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["aliases"] = list(self.aliases)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelIdentity:
        """The inverse of `to_dict` (the worker hand-off)."""
        return cls(**{**data, "aliases": tuple(data.get("aliases") or ())})

    @classmethod
    def of(cls, resolved: ResolvedModel, *, name: str | None, uri: str) -> ModelIdentity:
        """The identity of a resolved URI; the name is `name`, else the registered model's
        name, else the directory's name."""
        local = Path(resolved.local_path)
        return cls(
            name=name or resolved.name or local.name,
            local_path=str(local),
            source_uri=resolved.source_uri or uri,
            version=None if resolved.version is None else str(resolved.version),
            stage=resolved.stage,
            aliases=tuple(resolved.aliases or ()),
            digest=resolved.digest,
            run_id=resolved.run_id,
        )

    def labels(self) -> dict[str, str]:
        """Prometheus labels (empty strings where unknown)."""
        return {
            "model_name": self.name,
            "model_version": self.version or "",
            "model_stage": self.stage or ",".join(self.aliases),
            "model_digest": (self.digest or "")[:16],
        }


def resolve_model(uri: str, *, name: str | None, settings: Settings) -> ModelIdentity:
    """The one place `serve` turns a model URI into a local directory and an identity."""
    if not uri:
        raise InvalidInput("no model given: pass -m/--model-uri or set SHIPYARD_MODEL_URI")
    return ModelIdentity.of(resolve_model_uri(uri, settings=settings), name=name, uri=uri)


__all__ = ["ModelIdentity", "resolve_model"]
