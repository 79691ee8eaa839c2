"""`shipyard generate-k8s`: the edge where flags become a `ServingPlan` and files."""

from __future__ import annotations

from pathlib import Path

import click

from shipyard.exceptions import ShipyardError
from shipyard.k8s.kserve import kserve
from shipyard.k8s.objects import Manifest, ServingPlan
from shipyard.k8s.output import to_yaml, write_manifests
from shipyard.k8s.plan import model_identity
from shipyard.k8s.workload import workload
from shipyard.settings import cli_settings


@click.command("generate-k8s")
@click.option("-m", "--model-uri", required=True, help="The model the image serves (labels, version, default name).")
@click.option("--image", required=True, help="The image `shipyard build-docker` built for that model.")
@click.option("--name", default=None, help="Kubernetes name [default: the model's name].")
@click.option("--namespace", default=None, help="Namespace for every object [default: none, kubectl's].")
@click.option("--replicas", type=int, default=2, show_default=True, help="Replicas (the autoscaler's minimum).")
@click.option("--max-replicas", type=int, default=None, help="Autoscaler maximum [default: 4 x --replicas].")
@click.option("--cpu", "cpu_request", default="500m", show_default=True, help="CPU request per replica.")
@click.option("--memory", "memory_request", default="512Mi", show_default=True, help="Memory request per replica.")
@click.option("--memory-limit", default="2Gi", show_default=True, help="Memory limit per replica.")
@click.option(
    "--drain-timeout",
    "drain_seconds",
    type=int,
    default=25,
    show_default=True,
    help="Seconds in-flight requests get after SIGTERM (the server's --graceful-timeout).",
)
@click.option(
    "--startup-timeout",
    "startup_seconds",
    type=int,
    default=600,
    show_default=True,
    help="Seconds a model load may take before the container is restarted.",
)
@click.option(
    "--kserve",
    "use_kserve",
    is_flag=True,
    help="Write a KServe ServingRuntime + InferenceService (V2 protocol) instead.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False),
    default=None,
    help="Directory for one YAML file per object [default: one stream on stdout].",
)
def generate_k8s(
    model_uri: str, image: str, name: str | None, namespace: str | None, replicas: int, max_replicas: int | None,
    cpu_request: str, memory_request: str, memory_limit: str, drain_seconds: int, startup_seconds: int,
    use_kserve: bool, output: str | None,
) -> None:  # fmt: skip
    """Write Kubernetes manifests that run a Shipyard serving image: a Deployment (non-root,
    read-only root filesystem, probes on the server's own health routes, drain on shutdown,
    Prometheus annotations), a Service, a PodDisruptionBudget and a HorizontalPodAutoscaler."""
    try:
        identity = model_identity(model_uri, settings=cli_settings())
        plan = ServingPlan(
            name=name or identity.name,
            image=image,
            model_labels=identity.labels,
            model_version=identity.version,
            namespace=namespace,
            replicas=replicas,
            max_replicas=max_replicas if max_replicas is not None else 4 * replicas,
            cpu_request=cpu_request,
            memory_request=memory_request,
            memory_limit=memory_limit,
            drain_seconds=drain_seconds,
            startup_seconds=startup_seconds,
        )
    except ShipyardError as exc:
        raise click.ClickException(exc.message) from exc
    manifests: list[Manifest] = kserve(plan) if use_kserve else workload(plan)
    if output is None:
        click.echo(to_yaml(manifests), nl=False)
        return
    for path in write_manifests(manifests, Path(output)):
        click.echo(f"wrote {path}")


__all__ = ["generate_k8s"]
