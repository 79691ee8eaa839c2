"""Shipyard: train, register, serve and ship models, speaking MLflow's conventions."""
from shipyard.version import __version__

__all__ = ["__version__"]
