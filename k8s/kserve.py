"""KServe: a `ServingRuntime` that runs the Shipyard image with the V2 protocol, and an
`InferenceService` that uses it.

The model is baked into the image, so the InferenceService names no `storageUri`; the server is
told its V2 model name (`SHIPYARD_NAME`) so that `/v2/models/<InferenceService name>/infer`, the
path KServe's clients call, is the one it answers.
"""

from __future__ import annotations

from shipyard.k8s.objects import Manifest, ServingPlan, container, metadata, volumes

MODEL_FORMAT = "shipyard"
KSERVE_CONTAINER = "kserve-container"
"""The container name KServe expects in a ServingRuntime."""


def runtime_name(plan: ServingPlan) -> str:
    return f"{plan.name}-runtime"


def serving_runtime(plan: ServingPlan) -> Manifest:
    served = container(plan, name=KSERVE_CONTAINER, env={"SHIPYARD_NAME": plan.name})
    return {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "ServingRuntime",
        "metadata": metadata(plan, runtime_name(plan), annotations=plan.model_labels),
        "spec": {
            "supportedModelFormats": [{"name": MODEL_FORMAT, "version": "1", "autoSelect": False}],
            "protocolVersions": ["v2"],
            "multiModel": False,
            "containers": [served],
            "volumes": volumes(),
        },
    }


def inference_service(plan: ServingPlan) -> Manifest:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": metadata(plan, plan.name, annotations=plan.model_labels),
        "spec": {
            "predictor": {
                "minReplicas": plan.replicas,
                "maxReplicas": plan.max_replicas,
                "model": {
                    "modelFormat": {"name": MODEL_FORMAT, "version": "1"},
                    "runtime": runtime_name(plan),
                    "protocolVersion": "v2",
                },
            }
        },
    }


def kserve(plan: ServingPlan) -> list[Manifest]:
    """The runtime first: the InferenceService refers to it by name."""
    return [serving_runtime(plan), inference_service(plan)]


__all__ = ["KSERVE_CONTAINER", "MODEL_FORMAT", "inference_service", "kserve", "runtime_name", "serving_runtime"]
