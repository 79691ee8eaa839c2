"""The tracking server: MLflow's REST API, the artifact proxy, auth and the web UI."""

from shipyard.server.app import create_app
from shipyard.server.context import ServerContext
from shipyard.server.settings import ServerSettings

__all__ = ["ServerContext", "ServerSettings", "create_app"]
