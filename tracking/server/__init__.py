"""The tracking server: MLflow's REST API, the artifact proxy, auth and the web UI."""
from shipyard.tracking.server.app import create_app
from shipyard.tracking.server.context import ServerContext
from shipyard.tracking.server.settings import ServerSettings

__all__ = ["ServerContext", "ServerSettings", "create_app"]
