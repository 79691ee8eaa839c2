"""The `MLmodel` file: MLflow's YAML description of a model directory, read and written.

Shipyard writes MLflow's fields with `shipyard_version` in place of `mlflow_version`, and reads
files written by MLflow (their extra fields are kept in `extra` and written back unchanged).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import numpy as np
import yaml

from shipyard.exceptions import InvalidInput, ModelLoadError, ResourceNotFound
from shipyard.flavors.input_example import has_example_params, read_input_example
from shipyard.flavors.schema_types import COLUMN_TYPES
from shipyard.flavors.signature import ColSpec, ModelSignature, ParamSchema, Schema, TensorSpec
from shipyard.version import __version__

if TYPE_CHECKING:
    import pandas as pd

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

    def get_input_schema(self) -> Schema | None:
        return self.signature.inputs if self.signature is not None else None

    def get_output_schema(self) -> Schema | None:
        return self.signature.outputs if self.signature is not None else None

    def get_params_schema(self) -> ParamSchema | None:
        return self.signature.params if self.signature is not None else None

    def load_input_example(self, path: str | Path | None = None) -> Any | None:
        """The saved example in the form MLflow returns it: a DataFrame (columns cast to the
        signature's types), an ndarray or dict of ndarrays, or the JSON object; None when the
        model was saved without one."""
        info = self.saved_input_example_info
        if not info:
            return None
        model_dir = _example_dir(path, info)
        raw = read_input_example(model_dir, info)
        kind = info.get("type")
        if kind == "json_object":
            return raw
        schema = self.get_input_schema()
        if kind == "dataframe":
            return _typed_frame(raw, schema)
        if kind == "ndarray":
            return _typed_arrays(raw, schema)
        raise InvalidInput(
            f"saved_input_example_info.type {kind!r} is not supported; Shipyard reads "
            "'dataframe', 'ndarray' and 'json_object' examples (not sparse matrices)"
        )

    def load_input_example_params(self, path: str | Path) -> dict[str, Any] | None:
        """The params saved with the example (`input_example=(data, params)`), else None."""
        info = self.saved_input_example_info
        if not info or not has_example_params(info):
            return None
        saved: dict[str, Any] = json.loads((_example_dir(path, info) / info["artifact_path"]).read_text())
        params: dict[str, Any] | None = saved.get("params")
        return params

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


def _example_dir(path: str | Path | None, info: dict[str, Any]) -> Path:
    """The local model directory holding the example file.

    NOTE: MLflow also takes a runs:/ or models:/ URI here (or none, meaning the model's run); the
    flavors know nothing of stores, so Shipyard asks for the directory (a `file://` URI is one)."""
    if path is None:
        raise InvalidInput(
            "Model.load_input_example needs the model directory's path; "
            "download a logged model first (MlflowClient().download_artifacts)"
        )
    text = str(path)
    parsed = urlparse(text)
    if parsed.scheme == "file":
        text = unquote(parsed.path)
    elif len(parsed.scheme) > 1:
        raise InvalidInput(
            f"Model.load_input_example: path {text!r} is a {parsed.scheme}: URI; give the local model "
            "directory (download it first with MlflowClient().download_artifacts)"
        )
    model_dir = Path(text)
    if model_dir.name == MLMODEL_FILE_NAME:
        model_dir = model_dir.parent
    example = model_dir / str(info.get("artifact_path"))
    if not example.is_file():
        raise ResourceNotFound(f"the MLmodel lists an input example, but {example} does not exist")
    return model_dir


def _typed_frame(columns: Any, schema: Schema | None) -> pd.DataFrame:
    """A DataFrame of the example, each named scalar column cast to its signature type (as
    MLflow's `dataframe_from_parsed_json` casts with a schema)."""
    import pandas as pd  # NOTE: here, not at the top: the tracking server reads MLmodel files

    frame = pd.DataFrame(columns)
    if schema is None:
        return frame
    for spec in schema.inputs:
        if not isinstance(spec, ColSpec) or spec.name not in frame.columns or spec.is_nested:
            continue
        dtype = COLUMN_TYPES[str(spec.type)]
        if dtype != np.dtype(object) and frame[spec.name].notna().all():
            frame[spec.name] = frame[spec.name].astype(dtype)
    return frame


def _typed_arrays(raw: Any, schema: Schema | None) -> Any:
    """An ndarray (or dict of ndarrays) of the example, in the tensor signature's dtypes."""
    specs = [s for s in schema.inputs if isinstance(s, TensorSpec)] if schema is not None else []
    if isinstance(raw, dict):
        by_name = {s.name: s.dtype for s in specs}
        return {k: np.asarray(v, dtype=by_name.get(k)) for k, v in raw.items()}
    return np.asarray(raw, dtype=specs[0].dtype if len(specs) == 1 else None)


__all__ = ["MLMODEL_FILE_NAME", "Model", "PYFUNC_FLAVOR"]
