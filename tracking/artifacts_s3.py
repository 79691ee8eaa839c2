"""`s3://bucket/prefix` artifact roots, through boto3 (the extra `shipyard[s3]`).

Endpoint, TLS, upload arguments (SSE) and addressing style come from `ObjectStoreSettings`
(`MLFLOW_S3_*` and `SHIPYARD_S3_*`, read at the edge); credentials from the standard AWS chain,
which boto3 reads itself. Files go up with s3transfer's multipart upload and come down with
ranged parts, `max_concurrency` parts at once, each part retried by botocore's "standard" mode
(exponential backoff on throttling, 5xx and dropped connections). The server's proxy pipelines
uploads through `S3PartUpload`: parts go up while the body still arrives.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

from shipyard.exceptions import (
    InvalidInput,
    PermissionDenied,
    ResourceNotFound,
    ShipyardError,
    TemporarilyUnavailable,
)
from shipyard.tracking.artifact_transfer import Advance, Listing, ObjectStoreRepository
from shipyard.tracking.artifacts import safe_relative_path
from shipyard.tracking.http_settings import RestClientSettings
from shipyard.tracking.object_store_settings import ObjectStoreSettings
from shipyard.tracking.streamed_upload import PartReader, PartUpload

CHUNK = 1024 * 1024
_MISSING = {"404", "NoSuchKey", "NotFound"}
# NOTE: which upload arguments each multipart call takes, as s3transfer's UploadSubmissionTask
# splits them (SSE-KMS goes on the create only; an SSE-C key on every call).
_COMPLETE_ARGS = ("SSECustomerKey", "SSECustomerAlgorithm", "SSECustomerKeyMD5", "RequestPayer", "ExpectedBucketOwner")
_PART_ARGS = ("ChecksumAlgorithm", *_COMPLETE_ARGS)
_DENIED = {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled"}


@functools.lru_cache(maxsize=16)
def s3_client(stores: ObjectStoreSettings) -> Any:
    """One client (thread-safe, with its connection pool) per set of settings."""
    config = Config(
        retries={"mode": "standard", "max_attempts": stores.max_retries + 1},
        s3={"addressing_style": stores.s3_addressing_style} if stores.s3_addressing_style else {},
        max_pool_connections=max(10, stores.max_concurrency * 2),
    )
    return boto3.session.Session().client(
        "s3", endpoint_url=stores.s3_endpoint_url, verify=not stores.s3_ignore_tls, config=config
    )


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, key prefix) of `s3://bucket/prefix`."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise InvalidInput(f"artifact URI {uri!r} is not s3://<bucket>/<prefix>")
    if parsed.query or parsed.fragment:
        raise InvalidInput(f"artifact URI {uri!r}: s3:// URIs take no query or fragment")
    return parsed.netloc, safe_relative_path(parsed.path.lstrip("/"), what="s3 key prefix")


class S3ArtifactRepository(ObjectStoreRepository):
    """The files under one `s3://bucket/prefix`."""

    def __init__(
        self, artifact_uri: str, http: RestClientSettings | None = None, *, tracking_uri: str | None = None
    ) -> None:
        super().__init__(artifact_uri, http, tracking_uri=tracking_uri)
        self.bucket, self.prefix = parse_s3_uri(artifact_uri)
        self.client = s3_client(self.stores)
        self.transfer = TransferConfig(
            multipart_threshold=self.stores.part_bytes,
            multipart_chunksize=self.stores.part_bytes,
            max_concurrency=self.stores.max_concurrency,
            io_chunksize=CHUNK,
            use_threads=True,
        )

    @contextlib.contextmanager
    def _errors(self, key: str) -> Iterator[None]:
        """botocore's failures as Shipyard's errors, naming the bucket, key and what to fix."""
        where = f"s3://{self.bucket}/{key}"
        try:
            yield
        except ShipyardError:
            raise
        except NoCredentialsError:
            raise PermissionDenied(
                f"no AWS credentials for {where}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                "AWS_PROFILE, or run where an instance role applies"
            ) from None
        except EndpointConnectionError as error:
            raise InvalidInput(
                f"cannot reach the S3 endpoint for {where} ({error}); "
                "check MLFLOW_S3_ENDPOINT_URL / SHIPYARD_S3_ENDPOINT_URL"
            ) from None
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code == "NoSuchBucket" or (code in _MISSING and not key):  # NOTE: HEAD of a bucket answers a bare 404
                raise ResourceNotFound(f"S3 bucket {self.bucket!r} does not exist (artifact URI {where})") from None
            if code in _DENIED:
                raise PermissionDenied(f"S3 refused access to {where} ({code}); check the AWS credentials") from None
            if code in _MISSING:
                raise ResourceNotFound(f"artifact {where} does not exist") from None
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            failed = TemporarilyUnavailable if status >= 500 or code in ("SlowDown", "Throttling") else InvalidInput
            raise failed(f"S3 call on {where} failed: {code or error}") from None
        except (BotoCoreError, Boto3Error) as error:  # NOTE: a failed multipart upload is a Boto3Error
            raise TemporarilyUnavailable(f"S3 call on {where} failed: {error}") from None

    def _put(self, local: Path, key: str, advance: Advance) -> None:
        with self._errors(key):
            self.client.upload_file(
                str(local),
                self.bucket,
                key,
                ExtraArgs=dict(self.stores.s3_upload_extra_args) or None,
                Callback=advance,
                Config=self.transfer,
            )

    def _get(self, key: str, dest: Path, advance: Advance) -> None:
        with self._errors(key):
            self.client.download_file(self.bucket, key, str(dest), Callback=advance, Config=self.transfer)

    def _size(self, key: str) -> int | None:
        if not key:
            return None
        try:
            with self._errors(key):
                head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ResourceNotFound:
            self._check_bucket()
            return None
        return int(head["ContentLength"])

    def _check_bucket(self) -> None:
        """A 404 on HEAD does not say whether the key or the bucket is missing; this does."""
        with self._errors(""):
            self.client.head_bucket(Bucket=self.bucket)

    def _pages(self, key_prefix: str, delimiter: str | None) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": key_prefix}
        if delimiter:
            kwargs["Delimiter"] = delimiter
        with self._errors(key_prefix):
            yield from self.client.get_paginator("list_objects_v2").paginate(**kwargs)

    def _list(self, key_prefix: str) -> Listing:
        folders: list[str] = []
        files: list[tuple[str, int]] = []
        for page in self._pages(key_prefix, "/"):
            folders += [entry["Prefix"][len(key_prefix) :].rstrip("/") for entry in page.get("CommonPrefixes", [])]
            files += [
                (entry["Key"][len(key_prefix) :], int(entry["Size"]))
                for entry in page.get("Contents", [])
                if entry["Key"] != key_prefix
            ]
        return Listing(folders, files)

    def _keys(self, key_prefix: str) -> list[tuple[str, int]]:
        return [
            (entry["Key"], int(entry["Size"]))
            for page in self._pages(key_prefix, None)
            for entry in page.get("Contents", [])
        ]

    def _delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):  # NOTE: S3 deletes at most 1000 keys per call
            batch = [{"Key": key} for key in keys[start : start + 1000]]
            with self._errors(keys[start]):
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})

    def _chunks(self, key: str) -> Iterator[bytes]:
        with self._errors(key):
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        with contextlib.closing(body):
            yield from body.iter_chunks(CHUNK)

    def _part_upload(self, key: str) -> PartUpload:
        return S3PartUpload(self, key)


class S3PartUpload(PartUpload):
    """One key's multipart upload; each part is read from the spool file as botocore sends it."""

    min_part_bytes = 5 * 1024 * 1024  # S3's minimum for every part but the last

    def __init__(self, repository: S3ArtifactRepository, key: str) -> None:
        self.repository, self.key = repository, key
        self.extra = dict(repository.stores.s3_upload_extra_args)
        if repository.client.meta.config.request_checksum_calculation == "when_supported":
            self.extra.setdefault("ChecksumAlgorithm", "CRC32")  # NOTE: what upload_file does by default
        self.upload_id: str | None = None
        self._parts: dict[int, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def _call(self, method: str, **kwargs: Any) -> Any:
        with self.repository._errors(self.key):
            return getattr(self.repository.client, method)(Bucket=self.repository.bucket, Key=self.key, **kwargs)

    def begin(self) -> None:
        self.upload_id = self._call("create_multipart_upload", **self.extra)["UploadId"]

    def send_part(self, number: int, spool: Path, offset: int, length: int) -> None:
        args = {name: self.extra[name] for name in _PART_ARGS if name in self.extra}
        with PartReader(spool, offset, length) as body:
            answer = self._call("upload_part", UploadId=self.upload_id, PartNumber=number, Body=body, **args)
        part: dict[str, Any] = {"ETag": answer["ETag"], "PartNumber": number}
        checksum = f"Checksum{str(args.get('ChecksumAlgorithm', '')).upper()}"
        if checksum in answer:
            part[checksum] = answer[checksum]
        with self._lock:
            self._parts[number] = part

    def complete(self) -> None:
        parts = [self._parts[number] for number in sorted(self._parts)]
        args = {name: self.extra[name] for name in _COMPLETE_ARGS if name in self.extra}
        self._call("complete_multipart_upload", UploadId=self.upload_id, MultipartUpload={"Parts": parts}, **args)

    def abort(self) -> None:
        if self.upload_id is not None:
            self._call("abort_multipart_upload", UploadId=self.upload_id)


__all__ = ["S3ArtifactRepository", "S3PartUpload", "parse_s3_uri", "s3_client"]
