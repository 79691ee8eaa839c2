"""The one place Shipyard's version is read, so MLmodel files and /version agree."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("shipyard")
except PackageNotFoundError:  # NOTE: running from a checkout without `pip install -e .`
    __version__ = "0.0.0+unknown"
