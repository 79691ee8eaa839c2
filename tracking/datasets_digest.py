"""MLflow's dataset digests (8 hex characters of an md5), reimplemented so a dataset built with
`shipyard.data` gets the digest `mlflow.data` gives the same data: runs compare across the two."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from shipyard.exceptions import InvalidInput

MAX_ROWS = 10000
"""MLflow hashes at most this many rows (pandas) or leading elements (numpy), plus the dimensions."""


def md5_digest(parts: Iterable[Any]) -> str:
    """The first 8 hex characters of the md5 of `parts` (buffers), as MLflow truncates it."""
    md5 = hashlib.md5(usedforsecurity=False)
    count = 0
    for part in parts:
        md5.update(part)
        count += 1
    if not count:
        raise InvalidInput("dataset digest: there is nothing to hash")
    return md5.hexdigest()[:8]


def pandas_digest(df: pd.DataFrame) -> str:
    """Hash of the first rows' string and numeric columns, the row count and every column name."""
    head = df.head(MAX_ROWS)
    # NOTE: MLflow decides "all values are str" on the whole frame, not on the head
    all_text = df.map(lambda value: type(value) is str).all(axis=0)
    text_columns = head.columns[all_text.to_numpy()]
    number_columns = head.select_dtypes(include=[np.number]).columns
    kept = head[text_columns.union(number_columns)]
    parts: list[Any] = [pd.util.hash_pandas_object(kept).to_numpy(), np.int64(len(df))]
    parts.extend(str(column).encode() for column in df.columns)
    return md5_digest(parts)


def _array_parts(array: np.ndarray) -> list[Any]:
    leading = array.flatten()[:MAX_ROWS]
    try:
        hashed: Any = pd.util.hash_array(leading)
    except TypeError:  # NOTE: unhashable object arrays count by size, as in MLflow
        hashed = np.int64(leading.size)
    return [hashed, *(np.int64(n) for n in array.shape)]


def numpy_digest(features: Any, targets: Any = None) -> str:
    """Hash of each array's leading elements and its shape; dicts of arrays in key order."""
    parts: list[Any] = []
    for item in (features, targets):
        if item is None:
            continue
        arrays = [item[key] for key in sorted(item)] if isinstance(item, dict) else [item]
        for array in arrays:
            parts.extend(_array_parts(np.asarray(array)))
    return md5_digest(parts)


__all__ = ["MAX_ROWS", "md5_digest", "numpy_digest", "pandas_digest"]
