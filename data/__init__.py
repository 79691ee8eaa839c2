"""`shipyard.data`: MLflow's `mlflow.data` import path (`from_numpy`, `from_pandas`, the dataset
and source classes), re-exporting Shipyard's own.

NOTE: lazy (`_LAZY`, see the root `__init__.py`): the datasets import pandas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shipyard.lazy import lazy_exports

if TYPE_CHECKING:
    from shipyard.data.datasets import NumpyDataset, PandasDataset, from_numpy, from_pandas
    from shipyard.tracking.datasets_sources import CodeDatasetSource, HTTPDatasetSource, UriDatasetSource

_LAZY: dict[str, str] = {
    "CodeDatasetSource": "shipyard.tracking.datasets_sources:CodeDatasetSource",
    "HTTPDatasetSource": "shipyard.tracking.datasets_sources:HTTPDatasetSource",
    "NumpyDataset": "shipyard.data.datasets:NumpyDataset",
    "PandasDataset": "shipyard.data.datasets:PandasDataset",
    "UriDatasetSource": "shipyard.tracking.datasets_sources:UriDatasetSource",
    "from_numpy": "shipyard.data.datasets:from_numpy",
    "from_pandas": "shipyard.data.datasets:from_pandas",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)

__all__ = [
    "CodeDatasetSource",
    "HTTPDatasetSource",
    "NumpyDataset",
    "PandasDataset",
    "UriDatasetSource",
    "from_numpy",
    "from_pandas",
]
