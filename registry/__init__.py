"""The model registry: registered models, versions, stages, aliases, history; model URIs."""
from shipyard.registry.client import RegistryClient
from shipyard.registry.entities import HistoryEntry, ModelVersion, RegisteredModel
from shipyard.registry.fluent import register_model
from shipyard.registry.uris import ResolvedModel, parse_models_uri, resolve_model_uri

__all__ = [
    "HistoryEntry",
    "ModelVersion",
    "RegisteredModel",
    "RegistryClient",
    "ResolvedModel",
    "parse_models_uri",
    "register_model",
    "resolve_model_uri",
]
