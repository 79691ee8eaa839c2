"""A model directory packed once on the driver and named by its digest, for the executors.

The archive travels inside the UDF's closure: as a broadcast variable on a classic session (sent
once to each executor, however many tasks run there), as bytes on a Spark Connect session (which
has no broadcast). Executors key everything by the digest, so a model is unpacked once per
machine and loaded once per Python worker.
"""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.exceptions import IntegrityError


@dataclass(frozen=True)
class Shipment:
    """What an executor needs to load the model: the digest and load options (the cache key)
    and the archive (not part of the key: two shipments of one digest are the same model)."""

    digest: str
    allow_pickle: bool
    model_config_json: str
    """`model_config` as canonical JSON ("" for none): hashable, so it can be part of the key."""
    skops_trusted_types: tuple[str, ...]
    """The driver's skops trust (`SHIPYARD_SKOPS_TRUSTED_TYPES`): executors read no settings."""
    archive: Any = field(compare=False, repr=False)
    """The packed directory: bytes, or a pyspark `Broadcast` of them."""

    @property
    def model_config(self) -> dict[str, Any] | None:
        return json.loads(self.model_config_json) if self.model_config_json else None

    def archive_bytes(self) -> bytes:
        data = self.archive if isinstance(self.archive, bytes) else self.archive.value
        if not isinstance(data, bytes):
            raise IntegrityError(f"the shipped archive of {self.digest} is a {type(data).__name__}, not bytes")
        return data


def pack(model_dir: Path) -> bytes:
    """`model_dir`'s files as an uncompressed tar (model files are mostly compressed already)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for entry in sorted(model_dir.iterdir()):
            tar.add(entry, arcname=entry.name)
    return buffer.getvalue()


def unpack(archive: bytes, target: Path) -> None:
    """Extract a `pack` archive into `target`; the `data` filter refuses links out and absolute paths."""
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r") as tar:
        tar.extractall(target, filter="data")


def config_json(model_config: dict[str, Any] | None) -> str:
    return json.dumps(model_config, sort_keys=True) if model_config else ""


__all__ = ["Shipment", "config_json", "pack", "unpack"]
