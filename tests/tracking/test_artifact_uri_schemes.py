"""One table of artifact URI schemes: each scheme MLflow speaks is a store here or an error that
names the scheme and the extra providing it (never a local folder named `s3:`), and MLflow's
`mlflow-artifacts:` spellings are the tracking server's proxy, placed as MLflow places them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import shipyard.pyfunc
from shipyard.exceptions import InvalidInput
from shipyard.lazy import load
from shipyard.tracking.artifacts import (
    ARTIFACT_REPOSITORIES,
    NO_STORE,
    ArtifactRepository,
    get_artifact_repository,
    schemes_with_store,
)
from shipyard.tracking.artifacts_http import HttpArtifactRepository, split_proxy_uri

SHIPYARD = str(Path(sys.executable).parent / "shipyard")
MISSING = {
    "abfss://models@account.dfs.core.windows.net/iris": None,
    "gs://bucket/iris": None,
    "hdfs://namenode:8020/iris": None,
    "dbfs:/databricks/iris": None,
}
"""A URI of each kind with no store yet -> the extra that provides it (None: no extra does)."""


def test_every_scheme_mlflow_knows_is_in_the_one_table() -> None:
    from mlflow.store.artifact.artifact_repository_registry import _artifact_repository_registry

    mlflow_schemes = set(_artifact_repository_registry._registry) - {"", "models", "runs"}  # model URIs
    assert mlflow_schemes <= set(ARTIFACT_REPOSITORIES), mlflow_schemes - set(ARTIFACT_REPOSITORIES)
    for scheme in schemes_with_store():
        assert issubclass(load(ARTIFACT_REPOSITORIES[scheme]), ArtifactRepository), scheme
    assert set(schemes_with_store()) == {"file", "http", "https", "mlflow-artifacts", "s3", "wasbs"}
    assert ARTIFACT_REPOSITORIES["gs"] == NO_STORE


@pytest.mark.parametrize(("uri", "extra"), MISSING.items())
def test_a_scheme_without_a_store_is_an_error_naming_it_and_its_extra(
    uri: str, extra: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    scheme = uri.split(":", 1)[0]
    said = f"this Shipyard has no store for {scheme}:// yet (the extra {extra} provides it)" if extra else None
    expected = re.escape(said) if said else "has no store in Shipyard \\(no extra provides one\\)"
    with pytest.raises(InvalidInput, match=f"^artifact URI scheme '{scheme}'.*{expected}"):
        get_artifact_repository(uri)
    with pytest.raises(InvalidInput, match=f"^artifact URI scheme '{scheme}'.*{expected}"):
        shipyard.pyfunc.load_model(uri)
    assert list(tmp_path.iterdir()) == []  # no folder named `s3:` (or anything else) was made


def test_serve_of_an_object_store_uri_without_credentials_says_so_without_traceback(tmp_path: Path) -> None:
    out = subprocess.run(
        [SHIPYARD, "serve", "-m", "s3://bucket/models/iris", "-p", "1"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
        env={"PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path), "AWS_EC2_METADATA_DISABLED": "true"},
    )  # fmt: skip
    assert out.returncode != 0
    assert "no AWS credentials for s3://bucket/" in out.stderr + out.stdout
    assert "Traceback" not in out.stderr + out.stdout
    assert not (tmp_path / "s3:").exists()


def test_mlflow_artifacts_uris_are_placed_as_mlflow_places_them() -> None:
    server = "http://tracking.example:5000"
    assert split_proxy_uri("mlflow-artifacts:/1/abc/artifacts/model", server) == (server, "1/abc/artifacts/model")
    assert split_proxy_uri("mlflow-artifacts:///1/model", server + "/") == (server, "1/model")
    assert split_proxy_uri("mlflow-artifacts://other:6000/1/model", server) == ("http://other:6000", "1/model")
    assert split_proxy_uri("mlflow-artifacts://other:6000/1/model", "https://t:443") == (
        "https://other:6000",
        "1/model",
    )
    url = f"{server}/api/2.0/mlflow-artifacts/artifacts/1/model"
    assert split_proxy_uri(url) == (server, "1/model")
    repo = get_artifact_repository("mlflow-artifacts:/1/model", tracking_uri=server)
    assert isinstance(repo, HttpArtifactRepository) and (repo.base_url, repo.root) == (server, "1/model")


@pytest.mark.parametrize("tracking_uri", [None, "sqlite:///x.db"])
def test_a_host_less_mlflow_artifacts_uri_without_a_server_is_an_error(tracking_uri: str | None) -> None:
    with pytest.raises(InvalidInput, match="names no server, and the tracking URI"):
        get_artifact_repository("mlflow-artifacts:/1/model", tracking_uri=tracking_uri)


def test_an_escaping_proxy_path_is_refused() -> None:
    with pytest.raises(InvalidInput, match="'..'"):
        split_proxy_uri("mlflow-artifacts:/1/../../etc", "http://t:5000")


def test_resolving_a_local_directory_imports_no_http_client(tmp_path: Path) -> None:
    """Serving a plain directory reaches no server: the REST store and requests stay unimported."""
    code = (
        "import sys; from shipyard.registry.uris import resolve_model_uri; from shipyard.settings import Settings; "
        f"resolve_model_uri({str(tmp_path)!r}, settings=Settings()); "
        "print(','.join(m for m in ('requests', 'shipyard.tracking.rest_store') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    assert out.stdout.strip() == ""
