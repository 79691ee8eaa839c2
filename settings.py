"""Process-wide settings read once from `SHIPYARD_*` environment variables.

NOTE: build a `Settings` at the edge (CLI command, public API call, server start) and pass it
down; library code never reads `os.environ` itself. Areas with many knobs (serving) keep their
own settings class beside their code, with the same `SHIPYARD_` prefix.
"""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """What every part of Shipyard may need to know about where things live and what is allowed."""

    model_config = SettingsConfigDict(env_prefix="SHIPYARD_", extra="ignore")

    tracking_uri: str | None = None
    """Where runs and the registry live; None means the embedded sqlite default in the cwd."""

    registry_uri: str | None = None
    """Where the model registry lives; None means the tracking URI."""

    cache_dir: Path = Path.home() / ".cache" / "shipyard"
    """Local cache of fetched model versions, keyed by digest."""

    allow_pickle: bool = True
    """False refuses every pickle-based model format at load time (cloudpickle, pickle, torch.save)."""


__all__ = ["Settings"]
