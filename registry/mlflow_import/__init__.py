"""Bringing an MLflow tracking database's history into Shipyard (`shipyard db import`)."""

from __future__ import annotations

from shipyard.registry.mlflow_import.importer import import_mlflow_database
from shipyard.registry.mlflow_import.reader import MlflowDatabase
from shipyard.registry.mlflow_import.report import KINDS, ImportReport, KindCount, Progress
from shipyard.registry.mlflow_import.tracking_copy import DATASETS_TAG

__all__ = ["DATASETS_TAG", "ImportReport", "KINDS", "KindCount", "MlflowDatabase", "Progress", "import_mlflow_database"]
