"""`wasbs://container@account.blob.core.windows.net/prefix` artifact roots, through
azure-storage-blob (the extra `shipyard[azure]`).

Credentials as MLflow reads them: `AZURE_STORAGE_CONNECTION_STRING` (which also names the
endpoint, e.g. Azurite's), else `AZURE_STORAGE_ACCESS_KEY` for the URI's account; both are copied
into `ObjectStoreSettings` at the edge. Uploads go in blocks of `part_bytes`, downloads in ranged
parts, `max_concurrency` at once; the SDK's exponential retry covers throttling and 5xx. The
server's proxy pipelines uploads through `AzurePartUpload`: blocks are staged while the body still
arrives and committed at the end.
"""

from __future__ import annotations

import contextlib
import functools
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, cast

from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.storage.blob import BlobBlock, BlobPrefix, BlobServiceClient, ContainerClient

from shipyard.exceptions import InvalidInput, PermissionDenied, ResourceNotFound, ShipyardError
from shipyard.tracking.artifact_transfer import Advance, Listing, ObjectStoreRepository
from shipyard.tracking.artifacts import safe_relative_path
from shipyard.tracking.http_settings import RestClientSettings
from shipyard.tracking.object_store_settings import ObjectStoreSettings
from shipyard.tracking.streamed_upload import PartReader, PartUpload

_URI = re.compile(r"^wasbs://(?P<container>[^@/]+)@(?P<account>[^./]+)\.(?P<host>blob\.[^/]+)(?P<path>/.*)?$")
_ACCOUNT = re.compile(r"(?:^|;)AccountName=([^;]+)", re.IGNORECASE)


def parse_wasbs_uri(uri: str) -> tuple[str, str, str, str]:
    """(container, account, blob host, key prefix) of a `wasbs://` URI."""
    match = _URI.match(uri)
    if match is None:
        raise InvalidInput(f"artifact URI {uri!r} is not wasbs://<container>@<account>.blob.core.windows.net/<path>")
    prefix = safe_relative_path((match["path"] or "").lstrip("/"), what="wasbs path")
    return match["container"], match["account"], match["host"], prefix


@functools.lru_cache(maxsize=16)
def container_client(container: str, account: str, host: str, stores: ObjectStoreSettings) -> ContainerClient:
    """One client per container and settings; the credentials are checked against the URI here."""
    part = stores.part_bytes
    if stores.azure_connection_string:
        named = _ACCOUNT.search(stores.azure_connection_string)
        if named is None or named.group(1) != account:
            raise PermissionDenied(
                f"AZURE_STORAGE_CONNECTION_STRING is for account {named.group(1) if named else '(none)'!r}, "
                f"but the artifact URI names account {account!r}"
            )
        service = BlobServiceClient.from_connection_string(
            stores.azure_connection_string, max_block_size=part, max_single_put_size=part
        )
    elif stores.azure_access_key:
        service = BlobServiceClient(
            f"https://{account}.{host}",
            credential={"account_name": account, "account_key": stores.azure_access_key},
            max_block_size=part,
            max_single_put_size=part,
        )
    else:
        raise PermissionDenied(
            f"no Azure credentials for wasbs://{container}@{account}.{host}: set AZURE_STORAGE_CONNECTION_STRING "
            "or AZURE_STORAGE_ACCESS_KEY (or their SHIPYARD_ names)"
        )
    return service.get_container_client(container)


class AzureBlobArtifactRepository(ObjectStoreRepository):
    """The blobs under one `wasbs://container@account.../prefix`."""

    def __init__(
        self, artifact_uri: str, http: RestClientSettings | None = None, *, tracking_uri: str | None = None
    ) -> None:
        super().__init__(artifact_uri, http, tracking_uri=tracking_uri)
        self.container, account, host, self.prefix = parse_wasbs_uri(artifact_uri)
        self.client = container_client(self.container, account, host, self.stores)

    @contextlib.contextmanager
    def _errors(self, key: str) -> Iterator[None]:
        where = f"{self.artifact_uri.split('@', 1)[0]}@.../{key}"
        try:
            yield
        except ShipyardError:
            raise
        except ClientAuthenticationError:
            raise PermissionDenied(f"Azure refused the credentials for {where}; check the account key") from None
        except ResourceNotFoundError as error:
            if getattr(error, "error_code", None) == "ContainerNotFound":
                raise ResourceNotFound(f"Azure container {self.container!r} does not exist ({where})") from None
            raise ResourceNotFound(f"artifact {where} does not exist") from None
        except HttpResponseError as error:
            raise InvalidInput(
                f"Azure call on {where} failed: {getattr(error, 'error_code', None) or error.status_code}"
            ) from None
        except AzureError as error:
            raise InvalidInput(f"Azure call on {where} failed: {type(error).__name__}: {error.message}") from None

    @staticmethod
    def _hook(advance: Advance) -> Callable[[int, int | None], None] | None:
        if advance is None:
            return None
        seen = [0]

        def hook(current: int, _total: int | None = None) -> None:
            advance(current - seen[0])
            seen[0] = current

        return hook

    def _put(self, local: Path, key: str, advance: Advance) -> None:
        with self._errors(key), open(local, "rb") as stream:
            self.client.upload_blob(
                key,
                stream,
                length=local.stat().st_size,
                overwrite=True,
                max_concurrency=self.stores.max_concurrency,
                progress_hook=self._hook(advance),
            )

    def _get(self, key: str, dest: Path, advance: Advance) -> None:
        with self._errors(key), open(dest, "wb") as out:
            downloader = self.client.download_blob(
                key, max_concurrency=self.stores.max_concurrency, progress_hook=self._hook(advance)
            )
            downloader.readinto(out)

    def _size(self, key: str) -> int | None:
        if not key:
            return None
        try:
            with self._errors(key):
                return int(self.client.get_blob_client(key).get_blob_properties().size)
        except ResourceNotFound:
            with self._errors(""):
                self.client.get_container_properties()  # a missing container is its own error
            return None

    def _list(self, key_prefix: str) -> Listing:
        folders: list[str] = []
        files: list[tuple[str, int]] = []
        with self._errors(key_prefix):
            for item in self.client.walk_blobs(name_starts_with=key_prefix or None, delimiter="/"):
                name = item.name[len(key_prefix) :]
                if isinstance(item, BlobPrefix):
                    folders.append(name.rstrip("/"))
                elif name:
                    files.append((name, int(item.size)))
        return Listing(folders, files)

    def _keys(self, key_prefix: str) -> list[tuple[str, int]]:
        with self._errors(key_prefix):
            return [(blob.name, int(blob.size)) for blob in self.client.list_blobs(name_starts_with=key_prefix or None)]

    def _delete(self, keys: list[str]) -> None:
        for key in keys:  # NOTE: one call per blob; Azurite does not accept batch requests
            with self._errors(key):
                self.client.delete_blob(key)

    def _chunks(self, key: str) -> Iterator[bytes]:
        with self._errors(key):
            downloader = self.client.download_blob(key)
        yield from downloader.chunks()

    def _part_upload(self, key: str) -> PartUpload:
        return AzurePartUpload(self, key)


class AzurePartUpload(PartUpload):
    """One blob's blocks, staged from the spool file and committed as a list at the end.

    NOTE: Azure has no abort: staged blocks that are never committed stay invisible (the blob
    does not exist, or keeps its old content) and the service drops them after a week."""

    max_parts = 50_000  # blocks per blob

    def __init__(self, repository: AzureBlobArtifactRepository, key: str) -> None:
        self.repository, self.key = repository, key
        self.blob = repository.client.get_blob_client(key)
        self.token = uuid.uuid4().hex  # NOTE: block ids of one blob must all have the same length
        self.numbers: list[int] = []

    def _block_id(self, number: int) -> str:
        return f"{self.token}-{number:06d}"

    def begin(self) -> None:
        return None  # a block list needs no start

    def send_part(self, number: int, spool: Path, offset: int, length: int) -> None:
        with self.repository._errors(self.key), PartReader(spool, offset, length) as body:
            # NOTE: the SDK only reads, seeks and tells (to retry), which is what PartReader offers
            self.blob.stage_block(self._block_id(number), cast("IO[bytes]", body), length=length)
        self.numbers.append(number)  # NOTE: list.append is atomic; the order is fixed in complete()

    def complete(self) -> None:
        blocks = [BlobBlock(block_id=self._block_id(number)) for number in sorted(self.numbers)]
        with self.repository._errors(self.key):
            self.blob.commit_block_list(blocks)

    def abort(self) -> None:
        return None


__all__ = ["AzureBlobArtifactRepository", "AzurePartUpload", "container_client", "parse_wasbs_uri"]
