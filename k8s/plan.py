"""What the manifests need of the model: a default name, its version, and the image's labels.

The URI resolves the way `shipyard build-docker` resolves it, so the annotations the manifests
carry are exactly the model labels of the image built from the same URI.
"""

from __future__ import annotations

from dataclasses import dataclass

from shipyard.images.source import resolve_model
from shipyard.images.spec import DEFAULT_BASE_IMAGE, model_labels
from shipyard.k8s.objects import name_from
from shipyard.settings import Settings
from shipyard.version import __version__


@dataclass(frozen=True, slots=True)
class ModelIdentity:
    name: str
    """A Kubernetes name made of the model's name (the default of `--name`)."""
    version: str | None
    labels: dict[str, str]


def model_identity(model_uri: str, *, settings: Settings) -> ModelIdentity:
    model = resolve_model(model_uri, settings=settings)
    labels = model_labels(model, shipyard_version=__version__, base_image=DEFAULT_BASE_IMAGE)
    labels.pop("org.opencontainers.image.base.name")  # NOTE: the image may be built on another base
    version = None if model.version is None else str(model.version)
    return ModelIdentity(name_from(model.name or model.local_path.name), version, labels)


__all__ = ["ModelIdentity", "model_identity"]
