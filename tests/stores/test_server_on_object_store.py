"""`shipyard server --default-artifact-root s3://...` (and `wasbs://...`) against real local
servers: the seed's quickstart and the real `mlflow` client train and register through the
proxy, `shipyard serve -m models:/iris/Production` runs from another working directory, and
nothing lands on the server's disk. Plus `--no-serve-artifacts` and the start-up errors."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from azure.storage.blob import BlobServiceClient

ROOT = Path(__file__).resolve().parents[2]
SHIPYARD = str(Path(sys.executable).parent / "shipyard")
EnvFor = Callable[..., dict[str, str]]
Start = Callable[..., Any]
BODY = {
    "dataframe_split": {
        "columns": ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"],
        "data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]],
    }
}


@pytest.fixture(params=["s3", "wasbs"])
def store(request: pytest.FixtureRequest) -> tuple[str, dict[str, str], Callable[[], list[str]]]:
    """(artifact root URI, the server's variables, a lister of the keys stored under the root)."""
    if request.param == "s3":
        bucket = request.getfixturevalue("bucket")
        variables = request.getfixturevalue("aws_env")
        endpoint = variables["MLFLOW_S3_ENDPOINT_URL"]

        def s3_keys() -> list[str]:
            client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
            pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="team/artifacts/")
            return [entry["Key"] for page in pages for entry in page.get("Contents", [])]

        return f"s3://{bucket}/team/artifacts", dict(variables), s3_keys
    container = request.getfixturevalue("container")
    variables = request.getfixturevalue("azure_env")

    def blob_keys() -> list[str]:
        service = BlobServiceClient.from_connection_string(variables["AZURE_STORAGE_CONNECTION_STRING"])
        return [b.name for b in service.get_container_client(container).list_blobs(name_starts_with="team/artifacts/")]

    return f"wasbs://{container}@devstoreaccount1.blob.core.windows.net/team/artifacts", dict(variables), blob_keys


def start_server(start: Start, env: dict[str, str], tmp_path: Path, root: str, *extra: str) -> Any:
    db = f"sqlite:///{tmp_path / 'server' / 'shipyard.db'}"
    args = [SHIPYARD, "server", "--backend-store-uri", db, "--default-artifact-root", root,
            "--host", "127.0.0.1", "--port", "{port}", "--log-level", "warning", *extra]  # fmt: skip
    return start(args, env, tmp_path / "server", "shipyard server")


def run_script(script: Path, args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cwd.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(
        [sys.executable, str(script), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-4000:]
    return out


def test_seed_and_mlflow_client_through_the_proxy_then_serve_elsewhere(
    store: tuple[str, dict[str, str], Callable[[], list[str]]],
    start_process: Start,
    env_for: EnvFor,
    tmp_path: Path,
) -> None:
    root, variables, stored_keys = store
    server = start_server(start_process, env_for(**variables), tmp_path, root)
    # The clients hold no store credentials: every byte goes through the server's proxy.
    client_env = env_for(MLFLOW_TRACKING_URI=server.url)
    quick = run_script(ROOT / "examples" / "quickstart.py", [], tmp_path / "train", client_env)
    assert "registered iris version 1 and moved it to Production" in quick.stdout
    mlflow_script = ROOT / "tests" / "server" / "mlflow_train.py"
    mlflow_out = run_script(mlflow_script, ["iris-remote"], tmp_path / "mlflow", client_env)
    made = json.loads(mlflow_out.stdout.strip().splitlines()[-1])
    assert made["artifact_uri"].startswith("mlflow-artifacts:/")
    assert made["listed"] == ["image.png", "reports", "summary.txt"]

    keys = stored_keys()
    assert any(key.endswith("/artifacts/reports/report.html") for key in keys), keys
    assert any(key.startswith("team/artifacts/model-versions/sha256/") and key.endswith("/MLmodel") for key in keys)
    assert not (tmp_path / "server" / "s3:").exists() and not (tmp_path / "server" / "shipyard-artifacts").exists()

    served = start_process(
        [SHIPYARD, "serve", "-m", "models:/iris/Production", "-h", "127.0.0.1", "-p", "{port}"],
        env_for(MLFLOW_TRACKING_URI=server.url, SHIPYARD_CACHE_DIR=str(tmp_path / "elsewhere" / "cache")),
        tmp_path / "elsewhere",
        "shipyard serve",
    )
    reply = requests.post(served.url + "/invocations", json=BODY, timeout=60)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"predictions": [0, 2]}
    # The mlflow client's version, moved to Production with the mlflow client, serves too.
    version = requests.post(
        server.url + "/api/2.0/mlflow/model-versions/transition-stage",
        json={"name": "iris-remote", "version": "1", "stage": "Production"},
        timeout=30,
    )
    assert version.status_code == 200, version.text
    served2 = start_process(
        [SHIPYARD, "serve", "-m", "models:/iris-remote/Production", "-h", "127.0.0.1", "-p", "{port}"],
        env_for(MLFLOW_TRACKING_URI=server.url, SHIPYARD_CACHE_DIR=str(tmp_path / "elsewhere2" / "cache")),
        tmp_path / "elsewhere2",
        "shipyard serve 2",
    )
    reply2 = requests.post(served2.url + "/invocations", json=BODY, timeout=60)
    assert reply2.status_code == 200, reply2.text
    assert len(reply2.json()["predictions"]) == 2


def test_proxy_streams_files_both_ways_and_refuses_escapes(
    store: tuple[str, dict[str, str], Callable[[], list[str]]], start_process: Start, env_for: EnvFor, tmp_path: Path
) -> None:
    root, variables, stored_keys = store
    server = start_server(start_process, env_for(**variables), tmp_path, root)
    proxy = server.url + "/api/2.0/mlflow-artifacts/artifacts"
    data = bytes(range(256)) * 40000  # ~10 MB
    assert requests.put(f"{proxy}/1/r/artifacts/w.bin", data=data, timeout=60).status_code == 200
    assert "team/artifacts/1/r/artifacts/w.bin" in stored_keys()
    got = requests.get(f"{proxy}/1/r/artifacts/w.bin", timeout=60)
    assert got.status_code == 200 and got.content == data
    assert got.headers["Content-Security-Policy"] == "sandbox"
    listed = requests.get(proxy, params={"path": "1/r/artifacts"}, timeout=30).json()
    assert listed == {"files": [{"path": "w.bin", "is_dir": False, "file_size": len(data)}]}
    for bad in ("..%2F..%2Fetc", ".shipyard/x", "model-versions/x"):
        answer = requests.put(f"{proxy}/{bad}", data=b"x", timeout=30)
        assert 400 <= answer.status_code < 500, (bad, answer.text)
        assert "error_code" in answer.json()
    missing = requests.get(f"{proxy}/1/r/artifacts/none.bin", timeout=30)
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert requests.delete(f"{proxy}/1/r/artifacts/w.bin", timeout=30).status_code == 200
    assert "team/artifacts/1/r/artifacts/w.bin" not in stored_keys()


def test_no_serve_artifacts_hands_clients_the_store(
    bucket: str, aws_env: dict[str, str], start_process: Start, env_for: EnvFor, tmp_path: Path
) -> None:
    """`--no-serve-artifacts`: runs' artifact URIs are `s3://...`, and the client writes there
    itself with its own credentials."""
    root = f"s3://{bucket}/direct"
    server = start_server(start_process, env_for(**aws_env), tmp_path, root, "--no-serve-artifacts")
    script = tmp_path / "log.py"
    script.write_text(
        "import shipyard\nwith shipyard.start_run() as run:\n    shipyard.log_text('hi', 'notes/a.txt')\n"
        "print(run.info.artifact_uri)\n"
    )
    out = run_script(script, [], tmp_path / "client", env_for(MLFLOW_TRACKING_URI=server.url, **aws_env))
    artifact_uri = out.stdout.strip().splitlines()[-1]
    assert artifact_uri.startswith(f"{root}/") and artifact_uri.endswith("/artifacts")
    client = boto3.client("s3", endpoint_url=aws_env["MLFLOW_S3_ENDPOINT_URL"], region_name="us-east-1")
    key = artifact_uri[len(f"s3://{bucket}/") :] + "/notes/a.txt"
    assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == b"hi"


@pytest.mark.parametrize(
    ("root", "message"),
    [
        ("s3://no-such-bucket-anywhere/x", "S3 bucket 'no-such-bucket-anywhere' does not exist"),
        ("gs://bucket/x", "'gs://bucket/x' is a gs: URI"),
    ],
)
def test_server_start_errors_name_the_problem(
    root: str, message: str, aws_env: dict[str, str], env_for: EnvFor, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    out = subprocess.run(
        [SHIPYARD, "server", "--backend-store-uri", db, "--default-artifact-root", root, "--port", "1"],
        cwd=tmp_path, env=env_for(**aws_env), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode != 0
    assert message in out.stderr, out.stderr
    assert "Traceback" not in out.stderr + out.stdout


def test_server_start_without_credentials_says_so(
    bucket: str, aws_env: dict[str, str], env_for: EnvFor, tmp_path: Path
) -> None:
    env = env_for(
        MLFLOW_S3_ENDPOINT_URL=aws_env["MLFLOW_S3_ENDPOINT_URL"],
        AWS_DEFAULT_REGION="us-east-1",
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_CONFIG_FILE=str(tmp_path / "none"),
    )
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    out = subprocess.run(
        [SHIPYARD, "server", "--backend-store-uri", db, "--default-artifact-root", f"s3://{bucket}/x", "--port", "1"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode != 0
    assert f"no AWS credentials for s3://{bucket}/" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr + out.stdout


def test_artifacts_list_of_a_run_reads_the_store(
    bucket: str, aws_env: dict[str, str], start_process: Start, env_for: EnvFor, tmp_path: Path
) -> None:
    """`runs/artifacts/list` answers from S3 with the server's own endpoint and credentials."""
    server = start_server(start_process, env_for(**aws_env), tmp_path, f"s3://{bucket}/root")
    api = server.url + "/api/2.0/mlflow"
    experiment = requests.post(api + "/experiments/create", json={"name": "listing"}, timeout=30).json()
    run = requests.post(api + "/runs/create", json={"experiment_id": experiment["experiment_id"]}, timeout=30).json()
    run_id = run["run"]["info"]["run_id"]
    assert run["run"]["info"]["artifact_uri"].startswith("mlflow-artifacts:/")
    proxy = server.url + "/api/2.0/mlflow-artifacts/artifacts"
    relative = run["run"]["info"]["artifact_uri"][len("mlflow-artifacts:/") :]
    assert requests.put(f"{proxy}/{relative}/dir/a.txt", data=b"abc", timeout=30).status_code == 200
    listed = requests.get(api + "/artifacts/list", params={"run_id": run_id}, timeout=30).json()
    assert listed["files"] == [{"path": "dir", "is_dir": True}]
    inner = requests.get(api + "/artifacts/list", params={"run_id": run_id, "path": "dir"}, timeout=30).json()
    assert inner["files"] == [{"path": "dir/a.txt", "is_dir": False, "file_size": 3}]
