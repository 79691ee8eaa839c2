"""The S3 and Azure Blob repositories against real local servers (moto, Azurite): the same
interface as the local repository, multipart transfers, and clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from shipyard.exceptions import ArtifactPathError, InvalidInput, PermissionDenied, ResourceNotFound
from shipyard.tracking.artifact_transfer import ObjectStoreRepository
from shipyard.tracking.artifacts import get_artifact_repository
from shipyard.tracking.artifacts_azure import AzureBlobArtifactRepository
from shipyard.tracking.artifacts_s3 import S3ArtifactRepository, s3_client
from shipyard.tracking.fluent_state import process_http

FILES = {"MLmodel": b"flavors: {}\n", "data/model.bin": os.urandom(3000), "data/deep/x.txt": b"x"}


@pytest.fixture(params=["s3", "wasbs"])
def store_uri(request: pytest.FixtureRequest) -> str:
    if request.param == "s3":
        return f"s3://{request.getfixturevalue('bucket')}/runs/1"
    return f"wasbs://{request.getfixturevalue('container')}@devstoreaccount1.blob.core.windows.net/runs/1"


def repo_for(uri: str) -> ObjectStoreRepository:
    repo = get_artifact_repository(uri, process_http())
    assert isinstance(repo, ObjectStoreRepository)
    return repo


def test_scheme_picks_the_store(store_uri: str) -> None:
    repo = repo_for(store_uri)
    assert isinstance(repo, S3ArtifactRepository if store_uri.startswith("s3") else AzureBlobArtifactRepository)


def test_log_list_download_delete(store_uri: str, make_tree: Callable[..., Path], tmp_path: Path) -> None:
    repo = repo_for(store_uri)
    repo.log_artifacts(make_tree(FILES), "model")
    repo.log_bytes(b"hello", "notes/summary.txt")
    assert [(f.path, f.is_dir) for f in repo.list_artifacts()] == [("model", True), ("notes", True)]
    assert [(f.path, f.is_dir, f.file_size) for f in repo.list_artifacts("model")] == [
        ("model/MLmodel", False, len(FILES["MLmodel"])),
        ("model/data", True, None),
    ]
    local = Path(repo.download_artifacts("model", tmp_path / "out"))
    assert local == (tmp_path / "out" / "model").resolve()
    for relative, data in FILES.items():
        assert (local / relative).read_bytes() == data
    single = Path(repo.download_artifacts("notes/summary.txt", tmp_path / "one"))
    assert single.read_bytes() == b"hello"
    assert not list((tmp_path / "out").rglob("*.part"))
    repo.delete_artifacts("model/data")
    assert [f.path for f in repo.list_artifacts("model")] == ["model/MLmodel"]
    repo.delete_artifacts()
    assert repo.list_artifacts() == []
    with pytest.raises(ResourceNotFound, match="does not exist"):
        repo.download_artifacts("model")


def test_large_file_goes_in_parts_and_back(store_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file over the part size goes up multipart (S3: the ETag of a multipart object ends in
    `-<parts>`) and comes back byte for byte."""
    monkeypatch.setenv("SHIPYARD_ARTIFACT_PART_BYTES", str(5 * 1024 * 1024))
    monkeypatch.setenv("SHIPYARD_ARTIFACT_MAX_CONCURRENCY", "4")
    big = tmp_path / "weights.bin"
    with open(big, "wb") as out:
        for _ in range(13):
            out.write(os.urandom(1024 * 1024))
    repo = repo_for(store_uri)
    repo.log_artifact(big, "model")
    if isinstance(repo, S3ArtifactRepository):
        head = repo.client.head_object(Bucket=repo.bucket, Key=repo.key("model/weights.bin"))
        assert head["ETag"].strip('"').endswith("-3")
    else:
        assert isinstance(repo, AzureBlobArtifactRepository)
        blocks = repo.client.get_blob_client(repo.key("model/weights.bin")).get_block_list("committed")[0]
        assert len(blocks) == 3
    back = Path(repo.download_artifacts("model/weights.bin", tmp_path / "back"))
    assert back.read_bytes() == big.read_bytes()
    size, chunks = repo.open_chunks("model/weights.bin")
    assert size == big.stat().st_size and sum(len(c) for c in chunks) == size


@pytest.mark.parametrize("bad", ["../x", "a/../../x", "/etc/passwd", "C:/x"])
def test_paths_escaping_the_root_are_refused(store_uri: str, tmp_path: Path, bad: str) -> None:
    repo = repo_for(store_uri)
    source = tmp_path / "f.txt"
    source.write_text("x")
    with pytest.raises(ArtifactPathError):
        repo.log_artifact(source, bad)
    with pytest.raises(ArtifactPathError):
        repo.download_artifacts(bad, tmp_path / "out")
    with pytest.raises(ArtifactPathError):
        repo.delete_artifacts(bad)
    with pytest.raises(ArtifactPathError):
        repo.list_artifacts(bad)


def test_missing_bucket_and_container_are_named(aws_env: dict[str, str], azure_env: dict[str, str]) -> None:
    with pytest.raises(ResourceNotFound, match="S3 bucket 'no-such-bucket-here' does not exist"):
        repo_for("s3://no-such-bucket-here/x").list_artifacts()
    with pytest.raises(ResourceNotFound, match="S3 bucket 'no-such-bucket-here' does not exist"):
        repo_for("s3://no-such-bucket-here/x").download_artifacts("model")
    with pytest.raises(ResourceNotFound, match="container 'nosuchcontainer' does not exist"):
        repo_for("wasbs://nosuchcontainer@devstoreaccount1.blob.core.windows.net/x").download_artifacts("m")


def test_missing_credentials_are_named(bucket: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AZURE_STORAGE_CONNECTION_STRING"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    s3_client.cache_clear()
    with pytest.raises(PermissionDenied, match="no AWS credentials for s3://"):
        repo_for(f"s3://{bucket}/x").list_artifacts()
    with pytest.raises(PermissionDenied, match="no Azure credentials .*AZURE_STORAGE_CONNECTION_STRING"):
        repo_for("wasbs://c@devstoreaccount1.blob.core.windows.net/x")


def test_connection_string_of_another_account_is_refused(azure_env: dict[str, str]) -> None:
    with pytest.raises(
        PermissionDenied, match="for account 'devstoreaccount1', but the artifact URI names account 'other'"
    ):
        repo_for("wasbs://c@other.blob.core.windows.net/x")


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("s3:///no-bucket", "is not s3://<bucket>/<prefix>"),
        ("s3://b/../up", "contains '..'"),
        ("wasbs://just-a-host/x", "is not wasbs://<container>@<account>"),
        ("gs://bucket/x", "'gs' has no store in Shipyard"),
        ("nope://bucket/x", "'nope' is not supported; known schemes: file, http, https, mlflow-artifacts, s3, wasbs"),
    ],
)
def test_bad_uris_are_named(uri: str, message: str, aws_env: dict[str, str]) -> None:
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(")):
        get_artifact_repository(uri, process_http())


def test_upload_extra_args_reach_s3(bucket: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """MLFLOW_S3_UPLOAD_EXTRA_ARGS (here server-side encryption) goes with every upload."""
    monkeypatch.setenv("MLFLOW_S3_UPLOAD_EXTRA_ARGS", '{"ServerSideEncryption": "AES256"}')
    repo = repo_for(f"s3://{bucket}/enc")
    assert isinstance(repo, S3ArtifactRepository)
    repo.log_bytes(b"secret", "a.txt")
    head = repo.client.head_object(Bucket=bucket, Key="enc/a.txt")
    assert head["ServerSideEncryption"] == "AES256"


def test_bad_upload_extra_args_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_S3_UPLOAD_EXTRA_ARGS", "not json")
    with pytest.raises(InvalidInput, match="MLFLOW_S3_UPLOAD_EXTRA_ARGS"):
        process_http()


@pytest.mark.parametrize(
    ("uri", "module", "extra"),
    [("s3://b/x", "boto3", "shipyard[s3]"), ("wasbs://c@a.blob.core.windows.net/x", "azure", "shipyard[azure]")],
)
def test_a_store_whose_library_is_missing_names_the_extra(uri: str, module: str, extra: str) -> None:
    """Without the extra's library (blocked in a fresh interpreter, as if never installed), the
    URI is an error naming the scheme, the library and the extra, never an ImportError."""
    code = (
        f"import sys; sys.modules[{module!r}] = None\n"
        "from shipyard.exceptions import InvalidInput\n"
        "from shipyard.tracking.artifacts import get_artifact_repository\n"
        f"try:\n    get_artifact_repository({uri!r})\nexcept InvalidInput as e:\n    print(e.message)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"pip install '{extra}'" in out.stdout and f"'{uri.split(':')[0]}'" in out.stdout, out.stdout


def test_create_experiment_with_a_scheme_without_store_fails_at_once(tmp_path: Path) -> None:
    """Named when the experiment is created, not at the first log call (and nothing is created)."""
    from shipyard.tracking.client import TrackingClient

    client = TrackingClient(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with pytest.raises(InvalidInput, match="artifact URI scheme 'gs' has no store in Shipyard"):
        client.create_experiment("on-gcs", artifact_location="gs://bucket/x")
    assert client.get_experiment_by_name("on-gcs") is None
    assert client.create_experiment("on-s3", artifact_location="s3://bucket/x")
