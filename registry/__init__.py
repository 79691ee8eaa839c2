"""The model registry: registered models, versions, stages, aliases, history; model URIs.

NOTE: names resolve lazily through `_LAZY` (import strings, PEP 562 `__getattr__`): serving
imports `shipyard.registry.uris`, which runs this file first, and must not pull in the SQL
stores (SQLAlchemy, alembic) to resolve a local model directory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipyard.lazy import lazy_exports

if TYPE_CHECKING:
    from shipyard.registry.client import RegistryClient
    from shipyard.registry.deployments import Deployment
    from shipyard.registry.entities import HistoryEntry, ModelVersion, RegisteredModel
    from shipyard.registry.fluent import register_model
    from shipyard.registry.uris import ResolvedModel, parse_models_uri, resolve_model_uri

_LAZY: dict[str, str] = {
    "Deployment": "shipyard.registry.deployments:Deployment",
    "HistoryEntry": "shipyard.registry.entities:HistoryEntry",
    "ModelVersion": "shipyard.registry.entities:ModelVersion",
    "RegisteredModel": "shipyard.registry.entities:RegisteredModel",
    "RegistryClient": "shipyard.registry.client:RegistryClient",
    "ResolvedModel": "shipyard.registry.uris:ResolvedModel",
    "parse_models_uri": "shipyard.registry.uris:parse_models_uri",
    "register_model": "shipyard.registry.fluent:register_model",
    "resolve_model_uri": "shipyard.registry.uris:resolve_model_uri",
}
"""Public name -> import string, imported on first access (see the NOTE above)."""

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

__all__ = [
    "Deployment",
    "HistoryEntry",
    "ModelVersion",
    "RegisteredModel",
    "RegistryClient",
    "ResolvedModel",
    "parse_models_uri",
    "register_model",
    "resolve_model_uri",
]
