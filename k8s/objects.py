"""The pieces every manifest shares: names, labels, the serving container and its probes.

The container is the one `shipyard build-docker` images run: non-root user 10001, port 8080, the
model baked in. Its probes use the server's own routes: liveness on `/v2/health/live` (answers as
soon as the process serves HTTP), readiness on `/health` (200 only once the model is loaded and
warmed up), and a startup probe on `/health` that gives a slow load time before liveness counts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shipyard.exceptions import InvalidInput
from shipyard.images.spec import HOME_DIR, PORT, USER_ID

LIVENESS_PATH = "/v2/health/live"
READINESS_PATH = "/health"
METRICS_PATH = "/metrics"
PORT_NAME = "http"
CONTAINER_NAME = "model-server"
MANAGED_BY = "shipyard"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE_MAX = 63
_NAME_MAX = 52
"""Room for the longest suffix we add ("-runtime") and Kubernetes' own pod suffixes."""

Manifest = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ServingPlan:
    """What the manifests say about one served model; flags of `shipyard generate-k8s`."""

    name: str
    image: str
    model_labels: Mapping[str, str]
    """The image's labels (`images.spec.model_labels`): copied as annotations, verbatim."""
    model_version: str | None = None
    namespace: str | None = None
    replicas: int = 2
    max_replicas: int = 8
    cpu_request: str = "500m"
    memory_request: str = "512Mi"
    memory_limit: str = "2Gi"
    target_cpu_percent: int = 70
    drain_seconds: int = 25
    """`--graceful-timeout` of the server: how long in-flight requests get after SIGTERM."""
    pre_stop_seconds: int = 5
    """Time for the Service to stop sending new requests before SIGTERM arrives."""
    startup_seconds: int = 600
    """How long a model load may take before Kubernetes restarts the container."""

    def __post_init__(self) -> None:
        check_name(self.name)
        if self.namespace is not None:
            check_name(self.namespace, what="--namespace")
        if not self.image.strip() or any(c.isspace() for c in self.image):
            raise InvalidInput(f"--image {self.image!r} is not an image reference")
        if self.replicas < 1:
            raise InvalidInput(f"--replicas must be at least 1, got {self.replicas}")
        if self.max_replicas < self.replicas:
            raise InvalidInput(f"--max-replicas ({self.max_replicas}) is below --replicas ({self.replicas})")

    @property
    def termination_grace_seconds(self) -> int:
        """preStop, then the drain, then a margin for the process to exit."""
        return self.pre_stop_seconds + self.drain_seconds + 5


def check_name(name: str, *, what: str = "--name") -> None:
    """A DNS-1123 label, as Deployment, Service and InferenceService names must be."""
    if len(name) > _NAME_MAX or not _NAME.match(name):
        raise InvalidInput(
            f"{what} {name!r} is not a valid Kubernetes name: use at most {_NAME_MAX} lowercase letters, "
            "digits and '-', starting and ending with a letter or digit"
        )


def name_from(model_name: str) -> str:
    """A Kubernetes name made of a model's name (`Fraud_Detector` -> `fraud-detector`)."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", model_name.lower()).strip("-")[:_NAME_MAX].strip("-")
    return cleaned or "model"


def label_value(value: str) -> str:
    """A string cut to what a label value may hold (63 of [A-Za-z0-9._-], alphanumeric ends)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", value)[:_LABEL_VALUE_MAX]
    return cleaned.strip("-_.")


def selector(plan: ServingPlan) -> dict[str, str]:
    return {"app.kubernetes.io/name": plan.name, "app.kubernetes.io/component": "model-server"}


def labels(plan: ServingPlan) -> dict[str, str]:
    out = {**selector(plan), "app.kubernetes.io/managed-by": MANAGED_BY}
    if plan.model_version:
        version = label_value(plan.model_version)
        if version:
            out["app.kubernetes.io/version"] = version
    return out


def metadata(plan: ServingPlan, name: str, *, annotations: Mapping[str, str] | None = None) -> Manifest:
    out: Manifest = {"name": name, "labels": labels(plan)}
    if plan.namespace:
        out["namespace"] = plan.namespace
    if annotations:
        out["annotations"] = dict(sorted(annotations.items()))
    return out


def scrape_annotations() -> dict[str, str]:
    """The annotations Prometheus' Kubernetes service discovery reads."""
    return {"prometheus.io/scrape": "true", "prometheus.io/port": str(PORT), "prometheus.io/path": METRICS_PATH}


def _http_probe(path: str, *, period: int, failures: int) -> Manifest:
    return {
        "httpGet": {"path": path, "port": PORT_NAME},
        "periodSeconds": period,
        "timeoutSeconds": 3,
        "failureThreshold": failures,
    }


def probes(plan: ServingPlan) -> Manifest:
    period = 5
    return {
        "startupProbe": _http_probe(READINESS_PATH, period=period, failures=max(1, plan.startup_seconds // period)),
        "livenessProbe": _http_probe(LIVENESS_PATH, period=10, failures=3),
        "readinessProbe": _http_probe(READINESS_PATH, period=period, failures=2),
    }


def security_context() -> Manifest:
    """Non-root, read-only root filesystem, no capabilities: what the image was built for."""
    return {
        "runAsNonRoot": True,
        "runAsUser": USER_ID,
        "runAsGroup": USER_ID,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


WRITABLE_DIRS = {"tmp": "/tmp", "cache": f"{HOME_DIR}/.cache"}
"""What the server writes with a read-only root: temporary files, and the model cache."""


def volumes() -> list[Manifest]:
    return [{"name": name, "emptyDir": {}} for name in WRITABLE_DIRS]


def container(plan: ServingPlan, *, name: str = CONTAINER_NAME, env: Mapping[str, str] | None = None) -> Manifest:
    variables = {"SHIPYARD_GRACEFUL_TIMEOUT": str(plan.drain_seconds), **(env or {})}
    return {
        "name": name,
        "image": plan.image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": PORT_NAME, "containerPort": PORT, "protocol": "TCP"}],
        "env": [{"name": key, "value": value} for key, value in sorted(variables.items())],
        "resources": {
            "requests": {"cpu": plan.cpu_request, "memory": plan.memory_request},
            "limits": {"memory": plan.memory_limit},
        },
        **probes(plan),
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", str(plan.pre_stop_seconds)]}}},
        "securityContext": security_context(),
        "volumeMounts": [{"name": key, "mountPath": path} for key, path in WRITABLE_DIRS.items()],
    }


__all__ = [
    "CONTAINER_NAME",
    "LIVENESS_PATH",
    "METRICS_PATH",
    "PORT_NAME",
    "READINESS_PATH",
    "WRITABLE_DIRS",
    "Manifest",
    "ServingPlan",
    "check_name",
    "container",
    "label_value",
    "labels",
    "metadata",
    "name_from",
    "probes",
    "scrape_annotations",
    "security_context",
    "selector",
    "volumes",
]
