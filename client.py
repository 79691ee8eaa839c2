"""`shipyard.Client`: the lower-level API on one object (MLflow's `MlflowClient`).

Tracking calls come from `TrackingClient`; the registry adds its calls as a mixin class listed
in the bases below (its methods use `self.tracking_uri` and `self.registry_uri`).
"""

from __future__ import annotations

from shipyard.registry.client import RegistryClient
from shipyard.tracking.client import TrackingClient


class Client(TrackingClient, RegistryClient):
    """Experiments, runs, artifacts (and, from the registry, registered models and versions)."""


MlflowClient = Client
"""MLflow's name for the same class (`shipyard.MlflowClient`, `shipyard.tracking.MlflowClient`)."""

__all__ = ["Client", "MlflowClient"]
