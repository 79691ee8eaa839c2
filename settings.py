"""Process-wide settings read once from `SHIPYARD_*` variables, then MLflow's `MLFLOW_*` names.

Each field `x` reads `SHIPYARD_X` first, then MLflow's variable for the same thing (`MLFLOW_X`,
listed in `MLFLOW_VARIABLES`), so training code and pipelines written for MLflow keep their
configuration; docs/mlflow-variables.md is the table for users.

NOTE: build a `Settings` only at an edge (a CLI command, the server's start, the public Python
API's first use in a process, which keeps it in `shipyard.tracking.fluent_state`) and pass it
down; library code never builds one and never reads `os.environ` itself
(tests/test_settings_edges.py holds this). Areas with many knobs (`ServeSettings`,
`ServerSettings`) keep their own settings class beside their code and contain a `Settings` as
their `base` field instead of repeating its fields.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Protocol, TypeVar

import click
from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shipyard.redact import mask_url

URL_FIELDS = ("tracking_uri", "registry_uri")
"""Fields that may hold a database URL with a password: masked in `repr`, `str` and log dumps."""

SECRET_FIELDS = ("tracking_token", "tracking_password", "azure_storage_connection_string", "azure_storage_access_key")
"""Fields never shown in `repr`, `str` or log dumps."""


def env(*names: str) -> AliasChoices:
    """The variables a field reads, the first one set wins: its `SHIPYARD_*` name, then MLflow's
    name(s) for the same thing. Spelled out whole, so a grep for a variable finds its field;
    area settings (`ServerSettings`) use it too."""
    return AliasChoices(*names)


class Settings(BaseSettings):
    """What every part of Shipyard may need to know about where things live and what is allowed."""

    model_config = SettingsConfigDict(extra="ignore", validate_by_name=True, validate_by_alias=True)

    tracking_uri: str | None = Field(default=None, validation_alias=env("SHIPYARD_TRACKING_URI", "MLFLOW_TRACKING_URI"))
    """Where runs and the registry live; None means the embedded sqlite default in the cwd."""

    registry_uri: str | None = Field(default=None, validation_alias=env("SHIPYARD_REGISTRY_URI", "MLFLOW_REGISTRY_URI"))
    """Where the model registry lives; None means the tracking URI."""

    experiment_name: str | None = Field(
        default=None, validation_alias=env("SHIPYARD_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_NAME")
    )
    """The fluent API's experiment when `set_experiment` was not called (created if missing)."""

    experiment_id: str | None = Field(
        default=None, validation_alias=env("SHIPYARD_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_ID")
    )
    """The fluent API's experiment when neither `set_experiment` nor `experiment_name` says."""

    run_id: str | None = Field(default=None, validation_alias=env("SHIPYARD_RUN_ID", "MLFLOW_RUN_ID"))
    """The run the process's first `start_run()` resumes (a launcher started it)."""

    enable_async_logging: bool = Field(
        default=True, validation_alias=env("SHIPYARD_ENABLE_ASYNC_LOGGING", "MLFLOW_ENABLE_ASYNC_LOGGING")
    )
    """False makes every fluent `log_*` call wait until it is written (MLflow's default)."""

    tracking_token: str | None = Field(
        default=None, repr=False, validation_alias=env("SHIPYARD_TRACKING_TOKEN", "MLFLOW_TRACKING_TOKEN")
    )
    """Bearer token sent to a tracking server."""

    tracking_username: str | None = Field(
        default=None, validation_alias=env("SHIPYARD_TRACKING_USERNAME", "MLFLOW_TRACKING_USERNAME")
    )
    tracking_password: str | None = Field(
        default=None, repr=False, validation_alias=env("SHIPYARD_TRACKING_PASSWORD", "MLFLOW_TRACKING_PASSWORD")
    )
    """Basic auth for a tracking server; with both set it is sent instead of the token, as MLflow does."""

    tracking_insecure_tls: bool = Field(
        default=False, validation_alias=env("SHIPYARD_TRACKING_INSECURE_TLS", "MLFLOW_TRACKING_INSECURE_TLS")
    )
    """Skip verifying the server's TLS certificate (testing only)."""

    tracking_server_cert_path: Path | None = Field(
        default=None, validation_alias=env("SHIPYARD_TRACKING_SERVER_CERT_PATH", "MLFLOW_TRACKING_SERVER_CERT_PATH")
    )
    """CA bundle to verify the tracking server's certificate with."""

    tracking_client_cert_path: Path | None = Field(
        default=None, validation_alias=env("SHIPYARD_TRACKING_CLIENT_CERT_PATH", "MLFLOW_TRACKING_CLIENT_CERT_PATH")
    )
    """Client certificate (.pem with its key) for servers that ask for one."""

    http_request_max_retries: int = Field(
        default=6, ge=0, validation_alias=env("SHIPYARD_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_MAX_RETRIES")
    )
    """Retries of a call that failed to connect, timed out or got 429/5xx."""

    http_request_backoff_factor: float = Field(
        default=0.25,
        ge=0,
        validation_alias=env("SHIPYARD_HTTP_REQUEST_BACKOFF_FACTOR", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"),
    )
    """Seconds before the first retry; each further retry waits twice as long (capped at 30 s)."""

    http_request_backoff_jitter: float = Field(
        default=0.25,
        ge=0,
        validation_alias=env("SHIPYARD_HTTP_REQUEST_BACKOFF_JITTER", "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER"),
    )
    """Most seconds added at random to each retry's wait, as MLflow (urllib3's backoff_jitter) adds
    them, so clients that failed together do not retry together."""

    http_request_timeout: float = Field(
        default=120.0, gt=0, validation_alias=env("SHIPYARD_HTTP_REQUEST_TIMEOUT", "MLFLOW_HTTP_REQUEST_TIMEOUT")
    )
    """Seconds one HTTP request to a tracking server may take."""

    s3_endpoint_url: str | None = Field(
        default=None, validation_alias=env("SHIPYARD_S3_ENDPOINT_URL", "MLFLOW_S3_ENDPOINT_URL")
    )
    """An S3-compatible server for `s3://` artifact URIs (MinIO, moto); None: AWS's own endpoint."""

    s3_ignore_tls: bool = Field(default=False, validation_alias=env("SHIPYARD_S3_IGNORE_TLS", "MLFLOW_S3_IGNORE_TLS"))
    """Skip verifying the S3 endpoint's TLS certificate (testing only)."""

    s3_upload_extra_args: str | None = Field(
        default=None, validation_alias=env("SHIPYARD_S3_UPLOAD_EXTRA_ARGS", "MLFLOW_S3_UPLOAD_EXTRA_ARGS")
    )
    """JSON object of extra arguments for every S3 upload, e.g. `{"ServerSideEncryption": "aws:kms"}`
    (parsed by `ObjectStoreSettings.from_settings`, which names the variable when it is not one)."""

    s3_addressing_style: str | None = Field(
        default=None,
        validation_alias=env("SHIPYARD_BOTO_CLIENT_ADDRESSING_STYLE", "MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE"),
    )
    """botocore's S3 addressing style (`auto`, `virtual`, `path`); None lets botocore choose."""

    azure_storage_connection_string: str | None = Field(
        default=None,
        repr=False,
        validation_alias=env("SHIPYARD_AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_CONNECTION_STRING"),
    )
    """Credentials (and endpoint) for `wasbs://` artifact URIs, read as MLflow reads them."""

    azure_storage_access_key: str | None = Field(
        default=None,
        repr=False,
        validation_alias=env("SHIPYARD_AZURE_STORAGE_ACCESS_KEY", "AZURE_STORAGE_ACCESS_KEY"),
    )
    """The storage account's key for `wasbs://` URIs when no connection string is set."""

    artifact_part_bytes: int = Field(
        default=8 * 1024 * 1024, ge=5 * 1024 * 1024, validation_alias=env("SHIPYARD_ARTIFACT_PART_BYTES")
    )
    """Part size of multipart object-store transfers (S3's minimum part is 5 MiB)."""

    artifact_max_concurrency: int = Field(
        default=8, ge=1, le=64, validation_alias=env("SHIPYARD_ARTIFACT_MAX_CONCURRENCY")
    )
    """Parts of one object-store transfer in flight at once."""

    cache_dir: Path = Field(default=Path.home() / ".cache" / "shipyard", validation_alias=env("SHIPYARD_CACHE_DIR"))
    """Local cache of fetched model versions, keyed by digest."""

    env_root: Path | None = Field(default=None, validation_alias=env("SHIPYARD_ENV_ROOT"))
    """Where `shipyard run` keeps project environments (one per content hash); None: `envs` in `cache_dir`."""

    allow_pickle: bool = Field(default=True, validation_alias=env("SHIPYARD_ALLOW_PICKLE"))
    """False refuses every pickle-based model format at load time (cloudpickle, pickle, torch.save),
    and makes skops trust only `skops_trusted_types` (never the list in the model's own MLmodel)."""

    skops_trusted_types: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), validation_alias=env("SHIPYARD_SKOPS_TRUSTED_TYPES")
    )
    """Types skops may load beyond its defaults, comma-separated (`mymod.MyScaler,numpy.float32`):
    the loading side's trust, the only one that counts when pickles are refused."""

    @field_validator("skops_trusted_types", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @model_validator(mode="after")
    def _one_tls_choice(self) -> Settings:
        if self.tracking_insecure_tls and self.tracking_server_cert_path is not None:
            raise ValueError(
                "tracking_insecure_tls is true and tracking_server_cert_path is set; "
                "give a CA bundle or turn verification off, not both"
            )
        return self

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """What `repr` and `str` show: URL passwords masked."""
        for name, value in super().__repr_args__():
            yield name, mask_url(value) if name in URL_FIELDS and isinstance(value, str) else value

    def public_dump(self) -> dict[str, Any]:
        """`model_dump(mode="json")` with URL passwords masked and secrets left out: for log
        lines, never for a hand-off."""
        data = self.model_dump(mode="json", exclude=set(SECRET_FIELDS))
        for name in URL_FIELDS:
            if isinstance(data.get(name), str):
                data[name] = mask_url(data[name])
        return data


MLFLOW_VARIABLES: dict[str, str] = {
    choice: name
    for name, field in Settings.model_fields.items()
    if isinstance(field.validation_alias, AliasChoices)
    for choice in field.validation_alias.choices
    if isinstance(choice, str) and choice.startswith("MLFLOW_")
}
"""MLflow variable -> the `Settings` field it sets (SHIPYARD_<FIELD> wins over it)."""


class AreaSettings(Protocol):
    """A settings class of one area (`ServeSettings`, `ServerSettings`): contains a `Settings`."""

    def __init__(self, *, base: Settings, **fields: Any) -> None: ...


AreaT = TypeVar("AreaT", bound=AreaSettings)


def problems(exc: ValidationError, *models: Any) -> str:
    """One line per bad value, naming the field and the variables it reads, e.g.
    `http_request_timeout (SHIPYARD_HTTP_REQUEST_TIMEOUT / MLFLOW_HTTP_REQUEST_TIMEOUT): Input
    should be a valid number` (pydantic names only the first variable, which may not be the one set)."""
    names: dict[str, str] = {}
    for model in (*models, Settings):
        fields: dict[str, Any] = model.model_fields
        for name, field in fields.items():
            if isinstance(field.validation_alias, AliasChoices):
                choices = [c for c in field.validation_alias.choices if isinstance(c, str)]
                for choice in choices:
                    names[choice] = f"{name} ({' / '.join(choices)})"
    lines = []
    for err in exc.errors():
        where = ".".join(names.get(str(part), str(part)) for part in err["loc"]) or "settings"
        lines.append(f"{where}: {err['msg']}")
    return "; ".join(lines)


def cli_settings() -> Settings:
    """A CLI command's `Settings`, from the variables: a bad value is a usage error that names
    the field and its variables (exit 2), never a pydantic traceback."""
    try:
        return Settings()
    except ValidationError as exc:
        raise click.UsageError(problems(exc)) from None


def settings_from_flags(area: type[AreaT], flags: Mapping[str, Any]) -> AreaT:
    """A CLI command's settings: the flags given (None = not given) win over the variables.

    The one place a command turns a bad flag or variable into a usage error that names it
    (`port: Input should be less than or equal to 65535`), never a pydantic traceback.
    """
    given = {key: value for key, value in flags.items() if value is not None}
    base = cli_settings()
    try:
        return area(base=base, **given)
    except ValidationError as exc:
        raise click.UsageError(problems(exc, area)) from None


__all__ = [
    "MLFLOW_VARIABLES",
    "SECRET_FIELDS",
    "AreaSettings",
    "Settings",
    "URL_FIELDS",
    "cli_settings",
    "env",
    "problems",
    "settings_from_flags",
]
