"""Models loaded on an executor: unpacked once per machine, loaded once per Python worker.

Spark reuses its Python workers across tasks (`spark.python.worker.reuse`, on by default), so a
per-process cache keyed by digest means a model is loaded once per worker, not once per task or
per batch. The unpacked copy lives in a digest-keyed `VersionStorage` under the temp folder,
verified against the digest before it is used, shared by the workers of one machine.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

from shipyard.flavors.pyfunc import PyFuncModel, load_model
from shipyard.registry.storage import VersionStorage
from shipyard.spark.shipment import Shipment, unpack

CACHED_MODELS = 4
"""Models kept loaded per worker (a job that scores with several models in one stage)."""


def unpacked_dir(shipment: Shipment, root: Path | None = None) -> Path:
    """The verified local copy of the shipped model; unpacked from the archive only when missing."""
    storage = VersionStorage(root if root is not None else Path(tempfile.gettempdir()) / "shipyard-spark")
    return storage.import_with(shipment.digest, lambda tmp: unpack(shipment.archive_bytes(), tmp))


# NOTE: a process-wide cache on purpose: it is what keeps a Python worker from reloading the model
# for every task. The key is the shipment's digest and load options (its archive is not compared).
@functools.lru_cache(maxsize=CACHED_MODELS)
def loaded_model(shipment: Shipment) -> PyFuncModel:
    """The model of `shipment`, loaded on first use in this process."""
    return load_model(unpacked_dir(shipment), allow_pickle=shipment.allow_pickle, **_config_option(shipment))


def _config_option(shipment: Shipment) -> dict[str, object]:
    config = shipment.model_config
    return {"model_config": config} if config else {}


__all__ = ["CACHED_MODELS", "loaded_model", "unpacked_dir"]
