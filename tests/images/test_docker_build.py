"""Real builds and containers (gated on an engine; with CI=true a missing engine fails).

One module builds three images: iris versions 1 and 2 resolved from the registry, as wheelhouse
contexts built with the build network disabled (`network_mode="none"`), and an ONNX model through
`shipyard build-docker`, installing from the index. Each container is run with its port published
on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from shipyard.cli import cli
from shipyard.flavors import load_model
from shipyard.images.build import build_image
from shipyard.images.context import build_shipyard_wheel, write_context
from shipyard.images.source import resolve_model
from shipyard.images.spec import DEFAULT_BASE_IMAGE, BuildOptions
from shipyard.registry.client import RegistryClient
from shipyard.settings import Settings

AWKWARD = 'a "quoted" $HOME value \\ with backslash'
SESSION = uuid.uuid4().hex[:8]


def build(args: list[str], env: dict[str, str]) -> str:
    result = CliRunner().invoke(cli, ["build-docker", *args], env=env)
    assert result.exit_code == 0, result.output[-4000:]
    assert "image size" in result.output
    return result.output


@pytest.fixture(scope="module")
def built(docker_client: Any, models: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("images")
    db = f"sqlite:///{tmp / 'shipyard.db'}"
    env = {"SHIPYARD_TRACKING_URI": db, "SHIPYARD_CACHE_DIR": str(tmp / "cache")}
    registry = RegistryClient(tracking_uri=db)
    v1 = registry.register_model(str(models.save_iris(tmp / "iris-a", c=1.0)), "iris")
    v2 = registry.register_model(str(models.save_iris(tmp / "iris-b", c=0.05)), "iris")
    onnx_dir = models.save_onnx_mlp(tmp / "mlp")
    tags = {"v1": f"shipyard-test-iris:1-{SESSION}", "v2": f"shipyard-test-iris:2-{SESSION}",
            "onnx": f"shipyard-test-mlp:{SESSION}"}  # fmt: skip
    # The two iris versions: offline contexts with one Shipyard wheel (the checkout may change
    # while the tests run), then built with the container network disabled.
    wheel = build_shipyard_wheel(tmp / "wheel")
    settings = Settings(tracking_uri=db, cache_dir=tmp / "cache")
    offline = BuildOptions(wheelhouse=True, labels={"note": AWKWARD})
    for key, uri in (("ctx1", "models:/iris/1"), ("ctx2", "models:/iris/2")):
        model = resolve_model(uri, settings=settings)
        write_context(model, offline, tmp / key, shipyard_wheel=wheel)
    out: dict[str, Any] = {}
    for key, ctx in (("v1", tmp / "ctx1"), ("v2", tmp / "ctx2")):
        lines: list[str] = []
        out[key] = build_image(
            docker_client, ctx, tags[key], base_image=DEFAULT_BASE_IMAGE, network_mode="none",
            log=lines.append,
        )  # fmt: skip
        out[key + "-log"] = "\n".join(lines)
    out["onnx"] = build(["-m", str(onnx_dir), "-n", tags["onnx"]], env)
    try:
        yield {
            "tags": tags,
            "output": out,
            "versions": (v1, v2),
            "dirs": {"v1": tmp / "iris-a", "v2": tmp / "iris-b", "onnx": onnx_dir},
            "db": db,
        }
    finally:
        for tag in tags.values():
            with contextlib.suppress(Exception):
                docker_client.images.remove(tag, force=True)


@contextlib.contextmanager
def running(client: Any, image: str, **kwargs: Any) -> Iterator[tuple[Any, str]]:
    container = client.containers.run(image, detach=True, ports={"8080/tcp": ("127.0.0.1", None)}, **kwargs)
    try:
        container.reload()
        port = container.attrs["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"]
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            container.reload()
            if container.status == "exited" or time.monotonic() > deadline:
                raise AssertionError(f"container not ready:\n{container.logs().decode()[-3000:]}")
            time.sleep(0.1)
        yield container, url
    finally:
        container.remove(force=True)


def check_container_contract(container: Any, url: str) -> None:
    """Every endpoint reachable, non-root PID 1 running serve, healthcheck passes, SIGTERM -> 0."""
    assert httpx.get(url + "/ping").status_code == 200
    assert httpx.get(url + "/v2/health/ready").status_code == 200
    metrics = httpx.get(url + "/metrics")
    assert metrics.status_code == 200 and "# TYPE" in metrics.text
    status = container.exec_run(["cat", "/proc/1/status"]).output.decode()
    uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
    assert uid_line.split()[1:] == ["10001"] * 4
    cmdline = container.exec_run(["cat", "/proc/1/cmdline"]).output.split(b"\0")
    assert cmdline[1:4] == [b"/opt/shipyard/bin/shipyard", b"serve", b"-m"]
    health = container.attrs["Config"]["Healthcheck"]["Test"]
    assert health[0] == "CMD" and container.exec_run(health[1:]).exit_code == 0
    # Only serving's dependencies are installed: the tracking/registry database code is absent.
    py = "/opt/shipyard/bin/python"
    assert container.exec_run([py, "-c", "import sqlalchemy"]).exit_code != 0
    assert container.exec_run([py, "-c", "import docker"]).exit_code != 0
    # slim.py ran in the build: no test suites or Cython sources, extensions without `.symtab`.
    found = container.exec_run(["find", "/opt/shipyard", "-name", "tests", "-o", "-name", "*.pyx"])
    assert found.exit_code == 0 and found.output == b""
    symtab = (
        "import glob, runpy, uvloop; "
        "slim = runpy.run_path(glob.glob('/opt/shipyard/lib/python3*/site-packages/shipyard/images/slim.py')[0]); "
        "so = glob.glob(uvloop.__path__[0] + '/loop*.so')[0]; "
        "print('.symtab' in slim['_parse'](open(so, 'rb').read()).names)"
    )
    assert container.exec_run([py, "-c", symtab]).output.strip() == b"False"
    listing = container.exec_run(["/opt/shipyard/bin/shipyard", "--help"])
    words = b" ".join(listing.output.split())  # click wraps the listing
    assert listing.exit_code == 0 and b"(unavailable: needs the 'sqlalchemy'" in words
    container.kill(signal="SIGTERM")
    assert container.wait(timeout=60)["StatusCode"] == 0, container.logs().decode()[-2000:]


def test_iris_image_serves_the_registered_version(docker_client: Any, models: Any, built: dict[str, Any]) -> None:
    image = docker_client.images.get(built["tags"]["v1"])
    labels = image.labels
    v1 = built["versions"][0]
    assert labels["shipyard.model.name"] == "iris"
    assert labels["shipyard.model.version"] == "1"
    assert labels["shipyard.model.digest"] == v1.digest
    assert labels["shipyard.model.uri"] == "models:/iris/1"
    assert labels["org.opencontainers.image.version"] == "1"
    assert labels["note"] == AWKWARD
    assert image.attrs["Config"]["User"] == "10001:10001"
    assert "8080/tcp" in image.attrs["Config"]["ExposedPorts"]
    assert image.attrs["Config"]["StopSignal"] == "SIGTERM"

    from sklearn.datasets import load_iris

    x = load_iris(as_frame=True).data.iloc[::15]
    expected = load_model(built["dirs"]["v1"]).predict(x)
    body = {"dataframe_split": {"columns": models.iris_columns, "data": x.to_numpy().tolist()}}
    env = {"SHIPYARD_MAX_BATCH_SIZE": "7"}
    with running(docker_client, built["tags"]["v1"], environment=env) as (container, url):
        response = httpx.post(url + "/invocations", json=body)
        assert response.status_code == 200, response.text
        assert response.json()["predictions"] == np.asarray(expected).tolist()
        assert httpx.get(url + "/version", headers={"Accept": "application/json"}).json()["model"]["name"] == "iris"
        assert '"max_batch_size": 7' in container.logs().decode()
        check_container_contract(container, url)


def test_the_image_runs_as_its_kubernetes_manifest_says(
    docker_client: Any, models: Any, built: dict[str, Any], tmp_path: Path
) -> None:
    """`generate-k8s` for the same version: the container runs under the manifest's security
    context (its user, a read-only root with the manifest's writable mounts, no capabilities), with
    two workers; the probe paths and the preStop command work in it, and the annotations are the
    image's own labels."""
    tag = built["tags"]["v1"]
    env = {"SHIPYARD_TRACKING_URI": built["db"], "SHIPYARD_CACHE_DIR": str(tmp_path / "cache")}
    result = CliRunner().invoke(cli, ["generate-k8s", "-m", "models:/iris/1", "--image", tag], env=env)
    assert result.exit_code == 0, result.output
    deployment = next(d for d in yaml.safe_load_all(result.output) if d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]
    (spec,) = pod["spec"]["containers"]
    security = spec["securityContext"]
    variables = {item["name"]: item["value"] for item in spec["env"]}
    labels = docker_client.images.get(tag).labels
    labels.pop("org.opencontainers.image.base.name")
    labels.pop("note")  # NOTE: a --label given to this build only, not part of the model's identity
    assert {k: v for k, v in pod["metadata"]["annotations"].items() if not k.startswith("prometheus.io/")} == labels
    with running(
        docker_client, tag,
        user=f"{security['runAsUser']}:{security['runAsGroup']}",
        read_only=security["readOnlyRootFilesystem"],
        tmpfs={mount["mountPath"]: "" for mount in spec["volumeMounts"]},
        cap_drop=security["capabilities"]["drop"],
        security_opt=["no-new-privileges"],
        environment={**variables, "SHIPYARD_WORKERS": "2"},
    ) as (container, url):  # fmt: skip
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert httpx.get(url + spec[probe]["httpGet"]["path"]).status_code == 200, probe
        body = {"dataframe_split": {"columns": models.iris_columns, "data": [[5.1, 3.5, 1.4, 0.2]]}}
        for _ in range(20):
            assert httpx.post(url + "/invocations", json=body).status_code == 200
        scraped = httpx.get(url + pod["metadata"]["annotations"]["prometheus.io/path"]).text
        assert 'route="/invocations",status="200"} 20.0' in scraped, "two workers, one count"
        assert container.exec_run(spec["lifecycle"]["preStop"]["exec"]["command"]).exit_code == 0
        written = container.exec_run(["touch", "/opt/shipyard/x"])
        assert written.exit_code != 0, "the root filesystem is read-only"
        started = time.monotonic()
        container.kill(signal="SIGTERM")
        assert container.wait(timeout=60)["StatusCode"] == 0
        assert time.monotonic() - started < deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]


def test_second_version_reuses_the_dependency_layer(docker_client: Any, built: dict[str, Any]) -> None:
    one = docker_client.images.get(built["tags"]["v1"]).attrs["RootFS"]["Layers"]
    two = docker_client.images.get(built["tags"]["v2"]).attrs["RootFS"]["Layers"]
    assert len(one) == len(two)
    assert one[:-1] == two[:-1]  # base, user, the dependency layer: the very same layers
    assert one[-1] != two[-1]  # only the model files differ
    assert "Using cache" in built["output"]["v2-log"]
    labels = docker_client.images.get(built["tags"]["v2"]).labels
    assert labels["shipyard.model.version"] == "2"
    assert labels["shipyard.model.digest"] == built["versions"][1].digest


def test_onnx_image_serves_predictions(docker_client: Any, built: dict[str, Any]) -> None:
    rng = np.random.default_rng(7)  # the weights save_onnx_mlp drew
    w1 = rng.normal(size=(4, 8)).astype(np.float32)
    w2 = rng.normal(size=(8, 3)).astype(np.float32)
    x = np.arange(12, dtype=np.float32).reshape(3, 4) / 10
    expected = np.maximum(x @ w1, 0) @ w2
    with running(docker_client, built["tags"]["onnx"]) as (container, url):
        response = httpx.post(url + "/invocations", json={"inputs": x.tolist()})
        assert response.status_code == 200, response.text
        predictions = response.json()["predictions"]
        if isinstance(predictions, dict):
            predictions = predictions["y"]
        np.testing.assert_allclose(np.asarray(predictions, dtype=np.float32), expected, rtol=1e-5)
        check_container_contract(container, url)
    assert docker_client.images.get(built["tags"]["onnx"]).labels["shipyard.model.name"] == "mlp"
