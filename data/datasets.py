"""`shipyard.data.from_numpy` / `from_pandas`: MLflow's dataset objects (name, digest, source,
schema, profile, `to_dict()`), built without mlflow, so `log_input` records what MLflow records."""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from shipyard.exceptions import InvalidInput
from shipyard.flavors.inference import infer_schema
from shipyard.flavors.signature import Schema
from shipyard.tracking.datasets_digest import numpy_digest, pandas_digest
from shipyard.tracking.datasets_sources import CodeDatasetSource, resolve_source
from shipyard.tracking.entities import Dataset
from shipyard.tracking.system_tags import resolve_system_tags

DEFAULT_NAME = "dataset"
"""MLflow's name for a dataset built without one."""


def _source(raw: Any, function: str) -> Any:
    return CodeDatasetSource(resolve_system_tags()) if raw is None else resolve_source(raw, function)


def _text(value: Any, function: str, parameter: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{function}: parameter {parameter!r} must be text, got {type(value).__name__}")
    return value


class _DatasetBase:
    """Name, digest and source, and MLflow's `to_dict()` / `_to_mlflow_entity()` over them."""

    def __init__(self, source: Any, name: str | None, digest: str | None, function: str) -> None:
        self._source = source
        self._name = _text(name, function, "name")
        self._digest = _text(digest, function, "digest") or self._compute_digest()

    def _compute_digest(self) -> str:
        raise NotImplementedError

    def _schema_json(self) -> str | None:
        raise NotImplementedError

    @property
    def profile(self) -> dict[str, Any]:
        raise NotImplementedError

    @property
    def name(self) -> str:
        return self._name if self._name is not None else DEFAULT_NAME

    @property
    def digest(self) -> str:
        return self._digest

    @property
    def source(self) -> Any:
        return self._source

    def _get_source_type(self) -> str:
        return str(self._source._get_source_type())

    def to_dict(self) -> dict[str, str | None]:
        """MLflow's string dictionary: name, digest, source (JSON), source_type, schema, profile."""
        return {
            "name": self.name,
            "digest": self.digest,
            "source": self._source.to_json(),
            "source_type": self._get_source_type(),
            "schema": self._schema_json(),
            "profile": json.dumps(self.profile),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def _to_mlflow_entity(self) -> Dataset:
        """The tracking entity `log_input` stores (MLflow's method name, which it looks for)."""
        values = self.to_dict()
        return Dataset(
            name=self.name,
            digest=self.digest,
            source_type=self._get_source_type(),
            source=self._source.to_json(),
            schema=values["schema"],
            profile=values["profile"],
        )


def _tensor_schema(data: Any) -> Schema:
    return infer_schema(dict(data) if isinstance(data, dict) else np.asarray(data))


class NumpyDataset(_DatasetBase):
    """Features (an array or a dict of arrays) and optional targets, as MLflow's `NumpyDataset`."""

    def __init__(
        self, features: Any, source: Any, targets: Any = None, name: str | None = None, digest: str | None = None
    ) -> None:
        self._features = features
        self._targets = targets
        super().__init__(source, name, digest, "from_numpy")

    def _compute_digest(self) -> str:
        return numpy_digest(self._features, self._targets)

    @property
    def features(self) -> Any:
        return self._features

    @property
    def targets(self) -> Any:
        return self._targets

    @property
    def profile(self) -> dict[str, Any]:
        def attribute(data: Any, attr: str) -> Any:
            if isinstance(data, dict):
                return {key: _plain(getattr(array, attr)) for key, array in data.items()}
            return _plain(getattr(data, attr))

        profile = {f"features_{a}": attribute(self._features, a) for a in ("shape", "size", "nbytes")}
        if self._targets is not None:
            profile.update({f"targets_{a}": attribute(self._targets, a) for a in ("shape", "size", "nbytes")})
        return profile

    @cached_property
    def schema(self) -> dict[str, Schema | None] | None:
        """`{"features": Schema, "targets": Schema | None}` (MLflow's TensorDatasetSchema's parts)."""
        try:
            targets = _tensor_schema(self._targets) if self._targets is not None else None
            return {"features": _tensor_schema(self._features), "targets": targets}
        except InvalidInput:
            return None

    def _schema_json(self) -> str | None:
        schema = self.schema
        if schema is None:
            return None
        parts = {key: part.to_json() if part is not None else None for key, part in schema.items()}
        return json.dumps({"mlflow_tensorspec": parts})


def _plain(value: Any) -> Any:
    """Shapes as lists and sizes as ints, as `json.dumps` writes MLflow's profile."""
    return list(value) if isinstance(value, tuple) else int(value)


class PandasDataset(_DatasetBase):
    """A DataFrame with optional target and prediction column names, as MLflow's `PandasDataset`."""

    def __init__(
        self,
        df: pd.DataFrame,
        source: Any,
        targets: str | None = None,
        name: str | None = None,
        digest: str | None = None,
        predictions: str | None = None,
    ) -> None:
        if not isinstance(df, pd.DataFrame):
            raise InvalidInput(f"from_pandas: parameter 'df' must be a pandas.DataFrame, got {type(df).__name__}")
        for parameter, column in (("targets", targets), ("predictions", predictions)):
            if column is not None and column not in df.columns:
                raise InvalidInput(f"from_pandas: parameter {parameter!r} names the column {column!r}, not in df")
        self._df = df
        self._targets = targets
        self._predictions = predictions
        super().__init__(source, name, digest, "from_pandas")

    def _compute_digest(self) -> str:
        return pandas_digest(self._df)

    @property
    def df(self) -> pd.DataFrame:
        return self._df

    @property
    def targets(self) -> str | None:
        return self._targets

    @property
    def predictions(self) -> str | None:
        return self._predictions

    @property
    def profile(self) -> dict[str, Any]:
        return {"num_rows": len(self._df), "num_elements": int(self._df.size)}

    @cached_property
    def schema(self) -> Schema | None:
        try:
            return infer_schema(self._df)
        except InvalidInput:
            return None

    def _schema_json(self) -> str | None:
        schema = self.schema
        return json.dumps({"mlflow_colspec": schema.to_dict()}) if schema is not None else None


def from_numpy(
    features: Any, source: Any = None, targets: Any = None, name: str | None = None, digest: str | None = None
) -> NumpyDataset:
    """MLflow's `mlflow.data.from_numpy`: `source` None means the calling code (the run's
    context tags); a path or URI string is read as MLflow's resolver reads it."""
    if not isinstance(features, (np.ndarray, dict)):
        raise InvalidInput(
            f"from_numpy: parameter 'features' must be a numpy array or a dict of arrays, got {type(features).__name__}"
        )
    return NumpyDataset(features, _source(source, "from_numpy"), targets=targets, name=name, digest=digest)


def from_pandas(
    df: pd.DataFrame,
    source: Any = None,
    targets: str | None = None,
    name: str | None = None,
    digest: str | None = None,
    predictions: str | None = None,
) -> PandasDataset:
    """MLflow's `mlflow.data.from_pandas`; `source` as in `from_numpy`."""
    return PandasDataset(
        df, _source(source, "from_pandas"), targets=targets, name=name, digest=digest, predictions=predictions
    )


__all__ = ["DEFAULT_NAME", "NumpyDataset", "PandasDataset", "from_numpy", "from_pandas"]
