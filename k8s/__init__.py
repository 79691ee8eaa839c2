"""Kubernetes manifests for Shipyard's serving images (`shipyard generate-k8s`)."""

from __future__ import annotations

from shipyard.k8s.kserve import inference_service, kserve, serving_runtime
from shipyard.k8s.objects import LIVENESS_PATH, READINESS_PATH, ServingPlan
from shipyard.k8s.output import to_yaml, write_manifests
from shipyard.k8s.workload import autoscaler, deployment, disruption_budget, service, workload

__all__ = [
    "LIVENESS_PATH",
    "READINESS_PATH",
    "ServingPlan",
    "autoscaler",
    "deployment",
    "disruption_budget",
    "inference_service",
    "kserve",
    "service",
    "serving_runtime",
    "to_yaml",
    "workload",
    "write_manifests",
]
