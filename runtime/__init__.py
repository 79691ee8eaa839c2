"""The inference server behind `shipyard serve`: protocols, batcher, workers, health, metrics."""

from shipyard.runtime.app import create_app
from shipyard.runtime.batcher import Batcher
from shipyard.runtime.model import ModelIdentity, ServedModel, resolve_model
from shipyard.runtime.server import serve
from shipyard.runtime.settings import ServeSettings
from shipyard.runtime.workers import Workers

__all__ = [
    "Batcher",
    "ModelIdentity",
    "ServeSettings",
    "ServedModel",
    "Workers",
    "create_app",
    "resolve_model",
    "serve",
]
