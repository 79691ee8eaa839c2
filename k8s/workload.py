"""A plain Kubernetes workload for one model: Deployment, Service, PodDisruptionBudget, HPA.

The Deployment rolls out one pod at a time without dropping below the replica count (maxSurge 1,
maxUnavailable 0), so a new image takes traffic only once its readiness probe says the model is
loaded; the budget keeps all but one replica through node drains.
"""

from __future__ import annotations

from shipyard.images.spec import USER_ID
from shipyard.k8s.objects import (
    PORT_NAME,
    Manifest,
    ServingPlan,
    container,
    labels,
    metadata,
    scrape_annotations,
    selector,
    volumes,
)


def deployment(plan: ServingPlan) -> Manifest:
    pod_annotations = {**scrape_annotations(), **plan.model_labels}
    pod_security = {"runAsNonRoot": True, "fsGroup": USER_ID, "seccompProfile": {"type": "RuntimeDefault"}}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(plan, plan.name, annotations=plan.model_labels),
        "spec": {
            "replicas": plan.replicas,
            "selector": {"matchLabels": selector(plan)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": labels(plan), "annotations": dict(sorted(pod_annotations.items()))},
                "spec": {
                    "automountServiceAccountToken": False,
                    "terminationGracePeriodSeconds": plan.termination_grace_seconds,
                    "securityContext": pod_security,
                    "containers": [container(plan)],
                    "volumes": volumes(),
                },
            },
        },
    }


def service(plan: ServingPlan) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(plan, plan.name),
        "spec": {
            "type": "ClusterIP",
            "selector": selector(plan),
            "ports": [{"name": PORT_NAME, "port": 80, "targetPort": PORT_NAME, "protocol": "TCP"}],
        },
    }


def disruption_budget(plan: ServingPlan) -> Manifest:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": metadata(plan, plan.name),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector(plan)}},
    }


def autoscaler(plan: ServingPlan) -> Manifest:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata(plan, plan.name),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": plan.name},
            "minReplicas": plan.replicas,
            "maxReplicas": plan.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": plan.target_cpu_percent},
                    },
                }
            ],
        },
    }


def workload(plan: ServingPlan) -> list[Manifest]:
    """The four objects, in the order `kubectl apply -f` should create them."""
    return [deployment(plan), service(plan), disruption_budget(plan), autoscaler(plan)]


__all__ = ["autoscaler", "deployment", "disruption_budget", "service", "workload"]
