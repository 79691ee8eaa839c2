"""`shipyard generate-k8s`: manifests valid against Kubernetes' own schemas (offline, strict),
KServe objects against the structure of the KServe CRDs, and probes that name real routes of a
real server."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import kubernetes_validate
import pytest
import yaml
from click.testing import CliRunner

from shipyard.cli import cli
from shipyard.images.spec import PORT, USER_ID
from shipyard.runtime.routes import ROUTES

KUBERNETES_VERSIONS = ("1.29", kubernetes_validate.latest_version())
"""The oldest release still in common use that the manifests target, and the newest schema."""


def generate(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli, ["generate-k8s", *args], env=env)


def manifests_of(directory: Path) -> list[dict[str, Any]]:
    return [yaml.safe_load(path.read_text()) for path in sorted(directory.glob("*.yaml"))]


@pytest.fixture
def workload(tmp_path: Path, iris_dir: Callable[..., Path]) -> list[dict[str, Any]]:
    out = tmp_path / "k8s"
    result = generate("-m", str(iris_dir("Fraud_Detector")), "--image", "registry.local/fraud:1", "-o", str(out))
    assert result.exit_code == 0, result.output
    return manifests_of(out)


def by_kind(manifests: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {m["kind"]: m for m in manifests}


def test_every_object_is_valid_for_kubernetes(workload: list[dict[str, Any]]) -> None:
    assert [m["kind"] for m in workload] == ["Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"]
    for manifest in workload:
        for version in KUBERNETES_VERSIONS:
            kubernetes_validate.validate(manifest, version, strict=True)
    assert {m["metadata"]["name"] for m in workload} == {"fraud-detector"}


def test_a_broken_manifest_is_caught_by_the_same_validation(workload: list[dict[str, Any]]) -> None:
    """The validation is not vacuous: a field Kubernetes does not know fails it."""
    deployment = by_kind(workload)["Deployment"]
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["paht"] = "/x"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)


def test_the_deployment_runs_the_image_as_it_was_built(workload: list[dict[str, Any]]) -> None:
    objects = by_kind(workload)
    pod = objects["Deployment"]["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert container["image"] == "registry.local/fraud:1"
    assert container["ports"] == [{"name": "http", "containerPort": PORT, "protocol": "TCP"}]
    security = container["securityContext"]
    assert security["runAsNonRoot"] and security["runAsUser"] == USER_ID and security["readOnlyRootFilesystem"]
    assert security["capabilities"] == {"drop": ["ALL"]} and security["allowPrivilegeEscalation"] is False
    assert container["resources"]["requests"] == {"cpu": "500m", "memory": "512Mi"}
    assert {m["mountPath"] for m in container["volumeMounts"]} == {"/tmp", "/home/shipyard/.cache"}
    # The drain: preStop sleep, then the server's graceful timeout, inside the grace period.
    env = {item["name"]: item["value"] for item in container["env"]}
    pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][1])
    assert pod["spec"]["terminationGracePeriodSeconds"] > pre_stop + int(env["SHIPYARD_GRACEFUL_TIMEOUT"])
    annotations = pod["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/port"] == str(PORT)
    assert annotations["shipyard.model.name"] == "Fraud_Detector"
    assert annotations["shipyard.model.digest"].startswith("sha256:")
    # The Service, the budget and the autoscaler select exactly the Deployment's pods.
    labels = pod["metadata"]["labels"]
    for kind in ("Service", "PodDisruptionBudget"):
        chosen = objects[kind]["spec"]["selector"]
        chosen = chosen.get("matchLabels", chosen)
        assert chosen.items() <= labels.items()
    assert objects["Service"]["spec"]["ports"][0]["targetPort"] == "http"
    scaler = objects["HorizontalPodAutoscaler"]["spec"]
    assert scaler["scaleTargetRef"]["name"] == "fraud-detector" and (scaler["minReplicas"], scaler["maxReplicas"]) == (
        2,
        8,
    )


def test_probe_paths_are_routes_the_real_server_answers(
    workload: list[dict[str, Any]], iris_dir: Callable[..., Path], tmp_path: Path
) -> None:
    (container,) = by_kind(workload)["Deployment"]["spec"]["template"]["spec"]["containers"]
    paths = {container[probe]["httpGet"]["path"] for probe in ("startupProbe", "livenessProbe", "readinessProbe")}
    annotations = by_kind(workload)["Deployment"]["spec"]["template"]["metadata"]["annotations"]
    paths.add(annotations["prometheus.io/path"])
    assert paths == {"/health", "/v2/health/live", "/metrics"}
    assert paths <= {spec.path for spec in ROUTES if spec.method == "GET"}
    assert all(
        container[probe]["httpGet"]["port"] == "http" for probe in ("startupProbe", "livenessProbe", "readinessProbe")
    )
    with serving(iris_dir("probe"), tmp_path) as url:
        for path in sorted(paths):
            assert httpx.get(url + path, timeout=10).status_code == 200, path


@contextlib.contextmanager
def serving(model: Path, tmp: Path) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = open(tmp / "serve.log", "wb")  # noqa: SIM115 - closed below, after the process
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "shipyard"), "serve", "-m", str(model), "-p", str(port)],
        stdout=log, stderr=subprocess.STDOUT, cwd=tmp, env=dict(os.environ),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError((tmp / "serve.log").read_text()[-3000:])
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(30)
        log.close()


# The structure of KServe's CRDs for the fields generate-k8s writes (KServe's API reference:
# ServingRuntime serving.kserve.io/v1alpha1, InferenceService serving.kserve.io/v1beta1). Unknown
# fields are refused, as a structural CRD schema prunes them; containers and volumes are checked
# against Kubernetes' own Container and Volume schemas below.
_OBJECT_META = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}
SERVING_RUNTIME = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "serving.kserve.io/v1alpha1"},
        "kind": {"const": "ServingRuntime"},
        "metadata": _OBJECT_META,
        "spec": {
            "type": "object",
            "required": ["supportedModelFormats", "containers"],
            "additionalProperties": False,
            "properties": {
                "supportedModelFormats": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name"],
                        "additionalProperties": False,
                        "properties": {
                            "name": {"type": "string"},
                            "version": {"type": "string"},
                            "autoSelect": {"type": "boolean"},
                            "priority": {"type": "integer", "minimum": 1},
                        },
                    },
                },
                "protocolVersions": {"type": "array", "items": {"enum": ["v1", "v2", "grpc-v1", "grpc-v2"]}},
                "multiModel": {"type": "boolean"},
                "disabled": {"type": "boolean"},
                "containers": {"type": "array", "minItems": 1},
                "volumes": {"type": "array"},
            },
        },
    },
}
INFERENCE_SERVICE = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "serving.kserve.io/v1beta1"},
        "kind": {"const": "InferenceService"},
        "metadata": _OBJECT_META,
        "spec": {
            "type": "object",
            "required": ["predictor"],
            "additionalProperties": False,
            "properties": {
                "predictor": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "minReplicas": {"type": "integer", "minimum": 0},
                        "maxReplicas": {"type": "integer", "minimum": 0},
                        "model": {
                            "type": "object",
                            "required": ["modelFormat"],
                            "additionalProperties": False,
                            "properties": {
                                "modelFormat": {
                                    "type": "object",
                                    "required": ["name"],
                                    "additionalProperties": False,
                                    "properties": {"name": {"type": "string"}, "version": {"type": "string"}},
                                },
                                "runtime": {"type": "string"},
                                "protocolVersion": {"enum": ["v1", "v2", "grpc-v1", "grpc-v2"]},
                                "storageUri": {"type": "string"},
                            },
                        },
                    },
                }
            },
        },
    },
}


def test_kserve_objects_follow_the_crds_and_run_the_v2_protocol(tmp_path: Path, iris_dir: Callable[..., Path]) -> None:
    out = tmp_path / "kserve"
    result = generate("-m", str(iris_dir()), "--image", "registry.local/iris:3", "--kserve", "-o", str(out))
    assert result.exit_code == 0, result.output
    runtime, service = manifests_of(out)
    jsonschema.validate(runtime, SERVING_RUNTIME)
    jsonschema.validate(service, INFERENCE_SERVICE)
    for version in KUBERNETES_VERSIONS:
        # NOTE: the metadata and the container are core Kubernetes types: validated as a Pod's.
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": runtime["metadata"],
            "spec": {"containers": runtime["spec"]["containers"], "volumes": runtime["spec"]["volumes"]},
        }
        kubernetes_validate.validate(pod, version, strict=True)
    (container,) = runtime["spec"]["containers"]
    assert container["name"] == "kserve-container"
    assert runtime["spec"]["protocolVersions"] == ["v2"]
    model = service["spec"]["predictor"]["model"]
    assert model["runtime"] == runtime["metadata"]["name"] and model["protocolVersion"] == "v2"
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["SHIPYARD_NAME"] == service["metadata"]["name"], "V2 paths name the InferenceService"


def test_stdout_is_one_stream_kubectl_applies(iris_dir: Callable[..., Path]) -> None:
    result = generate("-m", str(iris_dir()), "--image", "iris:1", "--namespace", "models", "--replicas", "3")
    assert result.exit_code == 0, result.output
    documents = list(yaml.safe_load_all(result.output))
    assert [d["kind"] for d in documents][0] == "Deployment" and len(documents) == 4
    assert {d["metadata"]["namespace"] for d in documents} == {"models"}
    assert documents[0]["spec"]["replicas"] == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "Not_A_Name"], "--name 'Not_A_Name' is not a valid Kubernetes name"),
        (["--replicas", "0"], "--replicas must be at least 1"),
        (["--replicas", "4", "--max-replicas", "2"], "--max-replicas (2) is below --replicas (4)"),
        (["--namespace", "a.b"], "--namespace 'a.b' is not a valid Kubernetes name"),
    ],
)
def test_bad_flags_name_the_flag(args: list[str], message: str, iris_dir: Callable[..., Path]) -> None:
    result = generate("-m", str(iris_dir()), "--image", "iris:1", *args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_model_that_is_not_there_is_a_clear_error(tmp_path: Path) -> None:
    result = generate("-m", str(tmp_path / "nothing"), "--image", "iris:1")
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "nothing" in result.output
