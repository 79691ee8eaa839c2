"""The proxy's pipelined upload against real servers (moto's S3, Azurite): parts go up while the
body still arrives, the object arrives byte-identical, and a client that goes away or a store that
fails leaves no object, no multipart upload and no spool file behind."""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
import pytest
import requests
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from shipyard.tracking.artifacts_s3 import S3ArtifactRepository, S3PartUpload
from shipyard.tracking.streamed_upload import part_size

SHIPYARD = str(Path(sys.executable).parent / "shipyard")
MIB = 1024 * 1024
PART = 5 * MIB
KEY = "team/1/r/artifacts/model.bin"
PATH = "/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/model.bin"


class Proxy:
    """A `shipyard server` in front of `s3://<bucket>/team` or `wasbs://<container>@.../team`, with
    5 MiB parts and its own spool folder; and a look at the store behind it."""

    def __init__(self, url: str, spool: Path, scheme: str, client: Any, place: str) -> None:
        self.url, self.spool, self.scheme, self.client, self.place = url, spool, scheme, client, place

    def parts_done(self) -> int:
        """Parts already stored of the upload in progress: S3's multipart parts, Azure's staged blocks."""
        if self.scheme == "wasbs":
            try:
                _committed, staged = self.client.get_blob_client(KEY).get_block_list("uncommitted")
            except ResourceNotFoundError:
                return 0
            return len(staged)
        uploads = self.uploads()
        if not uploads:
            return 0
        parts = self.client.list_parts(Bucket=self.place, Key=KEY, UploadId=uploads[0]["UploadId"])
        return len(parts.get("Parts", []))

    def uploads(self) -> list[dict[str, Any]]:
        """S3's multipart uploads in progress (Azure has none: staged blocks are never visible)."""
        if self.scheme == "wasbs":
            return []
        listed: list[dict[str, Any]] = self.client.list_multipart_uploads(Bucket=self.place).get("Uploads", [])
        return listed

    def stored(self) -> tuple[bytes, int]:
        """(the object's bytes, how many parts it was assembled from; 1 for a single put)."""
        if self.scheme == "wasbs":
            blob = self.client.get_blob_client(KEY)
            committed, _staged = blob.get_block_list("committed")
            return blob.download_blob().readall(), max(len(committed), 1)
        got = self.client.get_object(Bucket=self.place, Key=KEY)
        etag = got["ETag"].strip('"')  # S3's ETag of a multipart object ends in -<parts>
        return got["Body"].read(), int(etag.rsplit("-", 1)[1]) if "-" in etag else 1

    def keys(self) -> list[str]:
        if self.scheme == "wasbs":
            return [blob.name for blob in self.client.list_blobs()]
        return [entry["Key"] for entry in self.client.list_objects_v2(Bucket=self.place).get("Contents", [])]

    def delete_place(self) -> None:
        """Delete the bucket (S3 lets a bucket with only parts go) or the container."""
        if self.scheme == "wasbs":
            self.client.delete_container()
        else:
            self.client.delete_bucket(Bucket=self.place)

    def spooled(self) -> list[Path]:
        return [path for path in self.spool.rglob("*") if path.is_file()]


@pytest.fixture(params=["s3", "wasbs"])
def proxy(
    request: pytest.FixtureRequest,
    start_process: Callable[..., Any],
    env_for: Callable[..., dict[str, str]],
    tmp_path: Path,
) -> Proxy:
    spool = tmp_path / "spool"
    spool.mkdir()
    client: Any
    if request.param == "s3":
        place = request.getfixturevalue("bucket")
        variables = request.getfixturevalue("aws_env")
        client = boto3.client("s3", endpoint_url=variables["MLFLOW_S3_ENDPOINT_URL"], region_name="us-east-1")
        root = f"s3://{place}/team"
    else:
        place = request.getfixturevalue("container")
        variables = request.getfixturevalue("azure_env")
        service = BlobServiceClient.from_connection_string(variables["AZURE_STORAGE_CONNECTION_STRING"])
        client = service.get_container_client(place)
        root = f"wasbs://{place}@devstoreaccount1.blob.core.windows.net/team"
    env = env_for(**variables, TMPDIR=str(spool), SHIPYARD_ARTIFACT_PART_BYTES=str(PART))
    args = [SHIPYARD, "server", "--backend-store-uri", f"sqlite:///{tmp_path / 'shipyard.db'}",
            "--default-artifact-root", root, "--host", "127.0.0.1", "--port", "{port}",
            "--log-level", "warning"]  # fmt: skip
    server = start_process(args, env, tmp_path / "server", "shipyard server")
    return Proxy(server.url, spool, request.param, client, place)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def paused_body(data: bytes, pause_at: int, at_pause: Callable[[], None]) -> Iterator[bytes]:
    """`data` in 1 MiB chunks (sent chunked), calling `at_pause` once `pause_at` bytes are out."""
    paused = False
    for start in range(0, len(data), MIB):
        if start >= pause_at and not paused:
            at_pause()
            paused = True
        yield data[start : start + MIB]


def test_a_multipart_upload_goes_up_while_the_body_arrives_and_lands_byte_identical(proxy: Proxy) -> None:
    data = os.urandom(2 * PART + 3 * MIB + 12345)
    seen: list[int] = []

    def parts_are_stored_before_the_body_ends() -> None:
        wait_for(lambda: proxy.parts_done() >= 1, "a part stored while the body is still arriving")
        seen.append(proxy.parts_done())

    body = paused_body(data, pause_at=PART + 2 * MIB, at_pause=parts_are_stored_before_the_body_ends)
    answer = requests.put(proxy.url + PATH, data=body, timeout=120)
    assert answer.status_code == 200, answer.text
    assert seen and seen[0] >= 1
    assert proxy.stored() == (data, 3)
    got = requests.get(proxy.url + PATH, timeout=120)
    assert got.status_code == 200 and got.content == data
    assert proxy.uploads() == [] and proxy.spooled() == []


def test_a_body_under_one_part_goes_up_as_a_single_put(proxy: Proxy) -> None:
    data = os.urandom(PART - 1)
    assert requests.put(proxy.url + PATH, data=data, timeout=60).status_code == 200
    assert proxy.stored() == (data, 1)
    assert proxy.uploads() == [] and proxy.spooled() == []


def test_a_client_gone_mid_upload_leaves_no_object_no_multipart_upload_and_no_spool_file(proxy: Proxy) -> None:
    url = urlparse(proxy.url)
    with socket.create_connection((url.hostname, url.port)) as sock:
        head = f"PUT {PATH} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Length: {40 * MIB}\r\n\r\n"
        sock.sendall(head.encode())
        chunk = os.urandom(MIB)
        for _ in range(2 * PART // MIB + 1):
            sock.sendall(chunk)
        wait_for(lambda: proxy.parts_done() >= 1, "a part stored before the client leaves")
        assert proxy.spooled() != []
    wait_for(lambda: proxy.uploads() == [] and proxy.spooled() == [], "the multipart upload aborted, the spool removed")
    assert proxy.keys() == []
    assert requests.get(proxy.url + "/health", timeout=30).status_code == 200


def test_a_failed_part_is_a_clear_error_and_leaves_no_spool_file(proxy: Proxy) -> None:
    data = os.urandom(PART + 2 * MIB)

    def delete_the_bucket_once_a_part_is_stored() -> None:
        wait_for(lambda: proxy.parts_done() >= 1, "the first part stored")
        proxy.delete_place()

    body = paused_body(data, pause_at=PART + MIB, at_pause=delete_the_bucket_once_a_part_is_stored)
    answer = requests.put(proxy.url + PATH, data=body, timeout=120)
    assert answer.status_code == 404, answer.text
    assert answer.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    kind = "S3 bucket" if proxy.scheme == "s3" else "Azure container"
    assert f"{kind} {proxy.place!r} does not exist" in answer.json()["message"]
    wait_for(lambda: proxy.spooled() == [], "the spool removed")


def test_the_part_size_fits_the_largest_body_in_the_stores_most_parts(bucket: str) -> None:
    parts = S3PartUpload(S3ArtifactRepository(f"s3://{bucket}/team"), KEY)
    assert part_size(8 * MIB, 20 * 1024 * MIB, parts) == 8 * MIB
    assert part_size(MIB, 20 * 1024 * MIB, parts) == PART  # raised to S3's minimum
    huge = 200 * 1024 * 1024 * MIB
    assert part_size(8 * MIB, huge, parts) * parts.max_parts >= huge
