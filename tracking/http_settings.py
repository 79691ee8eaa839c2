"""What a client of `shipyard server` needs to know: credentials, TLS files, timeout, retries.

NOTE: apart from `rest_client.py` because that module imports `requests`, which a serving image
does not install; the fluent state (imported whenever `serve` resolves a model URI) holds these
settings without making a request.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shipyard.settings import Settings
from shipyard.tracking.object_store_settings import ObjectStoreSettings

POLL_TIMEOUT_S = 5.0
"""How long one call of a polling client (`RestClientSettings.for_polling`) waits."""


class RestClientSettings(BaseModel):
    """Credentials and patience of a client of `shipyard server`: the process's `Settings` say
    them (`SHIPYARD_TRACKING_TOKEN` / `MLFLOW_TRACKING_TOKEN`, ...) and `from_settings` copies
    them at the edge; this class reads no environment.

    Frozen (hashable): the store factories keep one REST store per (URI, these settings)."""

    model_config = ConfigDict(frozen=True)

    token: str | None = Field(default=None, repr=False)
    username: str | None = None
    password: str | None = Field(default=None, repr=False)
    insecure_tls: bool = False
    server_cert_path: str | None = None
    client_cert_path: str | None = None
    timeout: float = 120.0
    max_retries: int = 6
    backoff_s: float = 0.25
    jitter_s: float = 0.25
    stores: ObjectStoreSettings = ObjectStoreSettings()
    """How to reach the object stores (`s3://`, `wasbs://`) that artifact URIs may name: every
    caller that reaches artifacts already passes these settings down."""

    @classmethod
    def from_settings(cls, settings: Settings) -> RestClientSettings:
        return cls(
            token=settings.tracking_token,
            username=settings.tracking_username,
            password=settings.tracking_password,
            insecure_tls=settings.tracking_insecure_tls,
            server_cert_path=_path(settings.tracking_server_cert_path),
            client_cert_path=_path(settings.tracking_client_cert_path),
            timeout=settings.http_request_timeout,
            max_retries=settings.http_request_max_retries,
            backoff_s=settings.http_request_backoff_factor,
            jitter_s=settings.http_request_backoff_jitter,
            stores=ObjectStoreSettings.from_settings(settings),
        )

    def for_polling(self) -> RestClientSettings:
        """One attempt of at most POLL_TIMEOUT_S per call: for a caller that asks again at its
        next interval anyway, whose calls must never outlast it (a server stopping waits for the
        call in flight)."""
        return self.model_copy(update={"timeout": min(self.timeout, POLL_TIMEOUT_S), "max_retries": 0})


def _path(value: object) -> str | None:
    return None if value is None else str(value)


__all__ = ["POLL_TIMEOUT_S", "RestClientSettings"]
