"""What a client of an object store (`s3://`, `wasbs://`) needs to know: endpoint, TLS, upload
arguments, credentials that are not the AWS chain's, part size, concurrency and retries.

Copied from the process's `Settings` at the edge (`from_settings`); this class reads no
environment. Frozen (hashable): one SDK client is kept per (endpoint, these settings).
"""

from __future__ import annotations

import json
from typing import Literal, cast

from pydantic import BaseModel, ConfigDict, Field

from shipyard.exceptions import InvalidInput
from shipyard.settings import Settings

ADDRESSING_STYLES = ("auto", "virtual", "path")


class ObjectStoreSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    s3_endpoint_url: str | None = None
    s3_ignore_tls: bool = False
    s3_upload_extra_args: tuple[tuple[str, str], ...] = ()
    """`MLFLOW_S3_UPLOAD_EXTRA_ARGS` as sorted pairs (a dict is not hashable)."""
    s3_addressing_style: Literal["auto", "virtual", "path"] | None = None
    azure_connection_string: str | None = Field(default=None, repr=False)
    azure_access_key: str | None = Field(default=None, repr=False)
    part_bytes: int = 8 * 1024 * 1024
    max_concurrency: int = 8
    max_retries: int = 6

    @classmethod
    def from_settings(cls, settings: Settings) -> ObjectStoreSettings:
        """`InvalidInput` naming the variable for upload arguments that are not a JSON object of
        strings, or an addressing style botocore does not know."""
        style = settings.s3_addressing_style
        if style is not None and style not in ADDRESSING_STYLES:
            raise InvalidInput(
                f"s3_addressing_style (SHIPYARD_BOTO_CLIENT_ADDRESSING_STYLE / MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE): "
                f"{style!r} is not one of {', '.join(ADDRESSING_STYLES)}"
            )
        return cls(
            s3_endpoint_url=settings.s3_endpoint_url,
            s3_ignore_tls=settings.s3_ignore_tls,
            s3_upload_extra_args=_extra_args(settings.s3_upload_extra_args),
            s3_addressing_style=cast(Literal["auto", "virtual", "path"] | None, style),
            azure_connection_string=settings.azure_storage_connection_string,
            azure_access_key=settings.azure_storage_access_key,
            part_bytes=settings.artifact_part_bytes,
            max_concurrency=settings.artifact_max_concurrency,
            max_retries=settings.http_request_max_retries,
        )


def _extra_args(text: str | None) -> tuple[tuple[str, str], ...]:
    if not text:
        return ()
    where = "s3_upload_extra_args (SHIPYARD_S3_UPLOAD_EXTRA_ARGS / MLFLOW_S3_UPLOAD_EXTRA_ARGS)"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(f"{where}: not JSON ({error.msg} at position {error.pos})") from None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise InvalidInput(f'{where}: must be a JSON object of strings, e.g. {{"ServerSideEncryption": "AES256"}}')
    return tuple(sorted(value.items()))


__all__ = ["ObjectStoreSettings"]
