"""Bringing an MLflow tracking database's history into Shipyard (`shipyard db import`)."""

from __future__ import annotations

from shipyard.registry.mlflow_import.importer import import_mlflow_database
from shipyard.registry.mlflow_import.reader import MlflowDatabase
from shipyard.registry.mlflow_import.report import KINDS, ImportReport, KindCount, Progress

__all__ = ["ImportReport", "KINDS", "KindCount", "MlflowDatabase", "Progress", "import_mlflow_database"]
