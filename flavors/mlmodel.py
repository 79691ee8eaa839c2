"""The `MLmodel` file: MLflow's YAML description of a model directory, read and written.

Shipyard writes MLflow's fields with `shipyard_version` in place of `mlflow_version`, and reads
files written by MLflow (their extra fields are kept in `extra` and written back unchanged).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from shipyard.exceptions import ModelLoadError, ResourceNotFound
from shipyard.flavors.signature import ModelSignature
from shipyard.version import __version__

MLMODEL_FILE_NAME = "MLmodel"
PYFUNC_FLAVOR = "python_function"
_KNOWN = {
    "artifact_path",
    "flavors",
    "run_id",
    "model_uuid",
    "utc_time_created",
    "shipyard_version",
    "signature",
    "saved_input_example_info",
    "metadata",
    "model_size_bytes",
}


@dataclass
class Model:
    """A parsed MLmodel file."""

    artifact_path: str | None = None
    flavors: dict[str, dict[str, Any]] = field(default_factory=dict)
    run_id: str | None = None
    model_uuid: str = field(default_factory=lambda: uuid.uuid4().hex)
    utc_time_created: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f"))
    shipyard_version: str | None = __version__
    signature: ModelSignature | None = None
    saved_input_example_info: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    model_size_bytes: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """Fields Shipyard does not interpret (e.g. `mlflow_version`), kept as read."""

    @property
    def mlflow_version(self) -> str | None:
        return self.extra.get("mlflow_version")

    def add_flavor(self, name: str, **conf: Any) -> Model:
        self.flavors[name] = conf
        return self

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.artifact_path is not None:
            out["artifact_path"] = self.artifact_path
        out["flavors"] = self.flavors
        if self.metadata is not None:
            out["metadata"] = self.metadata
        if self.model_size_bytes is not None:
            out["model_size_bytes"] = self.model_size_bytes
        out["model_uuid"] = self.model_uuid
        if self.run_id is not None:
            out["run_id"] = self.run_id
        if self.saved_input_example_info is not None:
            out["saved_input_example_info"] = self.saved_input_example_info
        if self.shipyard_version is not None:
            out["shipyard_version"] = self.shipyard_version
        if self.signature is not None:
            out["signature"] = self.signature.to_dict()
        out["utc_time_created"] = self.utc_time_created
        out.update(self.extra)
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), default_flow_style=False, sort_keys=True)

    def save(self, path: str | Path) -> None:
        """Write `MLmodel` into directory `path` (or to `path` itself if it names the file)."""
        target = Path(path)
        if target.is_dir():
            target = target / MLMODEL_FILE_NAME
        target.write_text(self.to_yaml())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Model:
        if not isinstance(data.get("flavors"), dict):
            raise ModelLoadError("MLmodel has no 'flavors' mapping; is this a model directory?")
        sig = data.get("signature")
        created = data.get("utc_time_created")
        return cls(
            artifact_path=data.get("artifact_path"),
            flavors=data["flavors"],
            run_id=data.get("run_id"),
            model_uuid=data.get("model_uuid") or uuid.uuid4().hex,
            utc_time_created=str(created) if created is not None else "",
            shipyard_version=data.get("shipyard_version"),
            signature=ModelSignature.from_dict(sig) if isinstance(sig, dict) else None,
            saved_input_example_info=data.get("saved_input_example_info"),
            metadata=data.get("metadata"),
            model_size_bytes=data.get("model_size_bytes"),
            extra={k: v for k, v in data.items() if k not in _KNOWN},
        )

    @classmethod
    def load(cls, path: str | Path) -> Model:
        """Read `MLmodel` from a model directory (or the file itself)."""
        target = Path(path)
        if target.is_dir():
            target = target / MLMODEL_FILE_NAME
        if not target.is_file():
            raise ResourceNotFound(f"no {MLMODEL_FILE_NAME} file at {target}")
        try:
            data = yaml.safe_load(target.read_text())
        except yaml.YAMLError as exc:
            raise ModelLoadError(f"{target} is not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise ModelLoadError(f"{target} does not hold a YAML mapping")
        return cls.from_dict(data)


__all__ = ["MLMODEL_FILE_NAME", "Model", "PYFUNC_FLAVOR"]
