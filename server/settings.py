"""Settings of `shipyard server`: flags win over `SHIPYARD_SERVER_*` variables, then defaults."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shipyard.redact import mask_url
from shipyard.settings import Settings

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class ServerSettings(BaseSettings):
    """Everything one server process needs; built once at the CLI edge and passed down.

    NOTE: `base` is the process's `Settings` (`SHIPYARD_*`: cache, `allow_pickle`), built by the
    CLI and passed in, never built here by nesting; no field here repeats one of it."""

    model_config = SettingsConfigDict(env_prefix="SHIPYARD_SERVER_", extra="ignore")

    base: Settings
    """Where things live and what is allowed, shared with the rest of the process."""

    backend_store_uri: str = "sqlite:///shipyard.db"
    """SQLAlchemy URL of the tracking and registry database."""

    default_artifact_root: str = "./shipyard-artifacts"
    """Server-side folder under which every proxied artifact lives (never shown to clients)."""

    host: str = "127.0.0.1"
    port: int = Field(5000, ge=0, le=65535)
    workers: int = Field(1, ge=1, le=64)

    auth_token_file: Path | None = None
    """File holding accepted bearer tokens, one per line."""

    basic_auth_file: Path | None = None
    """File holding `user:password` lines (or `user:sha256:<hex of the password>`)."""

    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    """Largest JSON request body; bigger ones get 413."""

    max_artifact_bytes: int = Field(20 * 1024**3, ge=1024)
    """Largest single artifact upload; bigger ones get 413 and nothing is kept."""

    log_level: str = "info"

    @model_validator(mode="after")
    def _one_auth_kind(self) -> ServerSettings:
        if self.auth_token_file is not None and self.basic_auth_file is not None:
            raise ValueError("give --auth-token-file or --basic-auth-file, not both")
        return self

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """What `repr` and `str` show: the backend URL's password masked."""
        for name, value in super().__repr_args__():
            yield name, mask_url(value) if name == "backend_store_uri" and isinstance(value, str) else value

    @property
    def auth_enabled(self) -> bool:
        return self.auth_token_file is not None or self.basic_auth_file is not None

    @property
    def loopback(self) -> bool:
        return self.host in LOOPBACK_HOSTS


__all__ = ["LOOPBACK_HOSTS", "ServerSettings"]
