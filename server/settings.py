"""Settings of `shipyard server`: flags win over `SHIPYARD_SERVER_*` variables, which win over
`mlflow server`'s own variables (`MLFLOW_BACKEND_STORE_URI`, `MLFLOW_ARTIFACTS_DESTINATION`,
`MLFLOW_DEFAULT_ARTIFACT_ROOT`, `MLFLOW_HOST`, `MLFLOW_PORT`, `MLFLOW_WORKERS`), then defaults."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shipyard.redact import mask_url
from shipyard.settings import Settings, env

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
OBJECT_STORE_SCHEMES = ("s3", "wasbs")
"""Artifact roots the server keeps in an object store instead of a local folder."""


class ServerSettings(BaseSettings):
    """Everything one server process needs; built once at the CLI edge and passed down.

    NOTE: `base` is the process's `Settings` (`SHIPYARD_*`: cache, `allow_pickle`), built by the
    CLI and passed in, never built here by nesting; no field here repeats one of it."""

    model_config = SettingsConfigDict(
        env_prefix="SHIPYARD_SERVER_", extra="ignore", validate_by_name=True, validate_by_alias=True
    )

    base: Settings
    """Where things live and what is allowed, shared with the rest of the process."""

    backend_store_uri: str = Field(
        default="sqlite:///shipyard.db",
        validation_alias=env("SHIPYARD_SERVER_BACKEND_STORE_URI", "MLFLOW_BACKEND_STORE_URI"),
    )
    """SQLAlchemy URL of the tracking and registry database."""

    default_artifact_root: str = Field(
        default="./shipyard-artifacts",
        validation_alias=env(
            "SHIPYARD_SERVER_DEFAULT_ARTIFACT_ROOT", "MLFLOW_ARTIFACTS_DESTINATION", "MLFLOW_DEFAULT_ARTIFACT_ROOT"
        ),
    )
    """Server-side folder under which every proxied artifact lives (never shown to clients).

    NOTE: MLflow's `--artifacts-destination` is this folder; its `--default-artifact-root` is
    what clients are told, which for Shipyard is always the proxy, so only a local folder (or a
    `file:` URI) is accepted from it."""

    host: str = Field(default="127.0.0.1", validation_alias=env("SHIPYARD_SERVER_HOST", "MLFLOW_HOST"))
    port: int = Field(default=5000, ge=0, le=65535, validation_alias=env("SHIPYARD_SERVER_PORT", "MLFLOW_PORT"))
    workers: int = Field(default=1, ge=1, le=64, validation_alias=env("SHIPYARD_SERVER_WORKERS", "MLFLOW_WORKERS"))

    auth_token_file: Path | None = None
    """File holding accepted bearer tokens, one per line."""

    basic_auth_file: Path | None = None
    """File holding `user:password` lines (or `user:sha256:<hex of the password>`)."""

    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    """Largest JSON request body; bigger ones get 413."""

    max_artifact_bytes: int = Field(20 * 1024**3, ge=1024)
    """Largest single artifact upload; bigger ones get 413 and nothing is kept."""

    log_level: str = "info"

    static_prefix: str = ""
    """Path prefix of every route (MLflow's `--static-prefix`), for a server behind a proxy path."""

    serve_artifacts: bool = True
    """MLflow's `--serve-artifacts` (the default): clients are told `mlflow-artifacts:/` URIs and
    every byte goes through this server's proxy. False (`--no-serve-artifacts`): clients are
    told the store's own URIs (`s3://...`) and read and write it with their own credentials."""

    @field_validator("default_artifact_root")
    @classmethod
    def _local_folder(cls, value: str) -> str:
        """A folder path, a `file:` URI turned into one, or an object store URI (`s3://`,
        `wasbs://`); any other URI is refused by name."""
        parsed = urlparse(value)
        if parsed.scheme == "file":
            return unquote(parsed.path)
        if parsed.scheme.lower() in OBJECT_STORE_SCHEMES:
            return value.rstrip("/")
        if len(parsed.scheme) > 1:
            raise ValueError(
                f"{value!r} is a {parsed.scheme}: URI; the server keeps proxied artifacts in a local "
                f"folder or an object store ({', '.join(f'{s}://' for s in OBJECT_STORE_SCHEMES)}), so give a path, "
                "a file: URI or one of those (read from --artifacts-destination, --default-artifact-root, "
                "SHIPYARD_SERVER_DEFAULT_ARTIFACT_ROOT, MLFLOW_ARTIFACTS_DESTINATION or MLFLOW_DEFAULT_ARTIFACT_ROOT)"
            )
        return value

    @field_validator("static_prefix")
    @classmethod
    def _path_prefix(cls, value: str) -> str:
        """`/name` or `/a/b`: starts with `/`, no trailing `/`, no query, no `..` (as MLflow checks)."""
        if value == "":
            return value
        parts = value.split("/")[1:]
        if not value.startswith("/") or value.endswith("/") or any(p in ("", ".", "..") for p in parts):
            raise ValueError(
                f"static prefix {value!r} must start with '/' and not end with '/' (e.g. /mlflow); "
                "read from --static-prefix or SHIPYARD_SERVER_STATIC_PREFIX"
            )
        if any(c in value for c in "?#%{}\\ "):
            raise ValueError(f"static prefix {value!r} may not hold '?', '#', '%', '{{', '}}', '\\' or spaces")
        return value

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


__all__ = ["LOOPBACK_HOSTS", "OBJECT_STORE_SCHEMES", "ServerSettings"]
