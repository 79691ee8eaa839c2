"""Row arithmetic on prepared inputs and model outputs: count, concatenate, split along axis 0.

The batcher merges requests by concatenating their prepared inputs and splits the model's output
back by each request's row count. Supported containers are the ones the pyfunc contract produces
and returns: numpy arrays, pandas DataFrames/Series, dicts of arrays (named tensors or columns)
and lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from shipyard.exceptions import ShipyardError


def count_rows(data: Any) -> int:
    """Length of the first (row) axis; a dict's values must all agree."""
    if isinstance(data, np.ndarray):
        return int(data.shape[0]) if data.ndim else 1
    if isinstance(data, dict):
        counts = {count_rows(value) for value in data.values()}
        if len(counts) > 1:
            raise ShipyardError(f"named inputs disagree on the number of rows: {sorted(counts)}")
        return counts.pop() if counts else 0
    if hasattr(data, "shape") and getattr(data, "ndim", 1) != 0:
        return int(data.shape[0])  # pandas DataFrame/Series, torch tensors
    if isinstance(data, (list, tuple)):
        return len(data)
    return 1


def concat_rows(parts: Sequence[Any]) -> Any:
    """One container holding every part's rows in order (parts share one type and layout)."""
    first = parts[0]
    if len(parts) == 1:
        return first
    if isinstance(first, np.ndarray):
        return np.concatenate(parts, axis=0)
    if isinstance(first, dict):
        return {key: concat_rows([part[key] for part in parts]) for key in first}
    if isinstance(first, list):
        return [row for part in parts for row in part]
    import pandas as pd  # NOTE: only column models that need names get here

    if isinstance(first, (pd.DataFrame, pd.Series)):
        return pd.concat(parts, axis=0, ignore_index=True)
    raise ShipyardError(f"cannot batch inputs of type {type(first).__name__}")


def split_rows(output: Any, counts: Sequence[int]) -> list[Any]:
    """Cut a batched output into one piece per request; checks one output per input row."""
    total = sum(counts)
    if isinstance(output, dict):
        columns = {key: split_rows(value, counts) for key, value in output.items()}
        return [{key: pieces[i] for key, pieces in columns.items()} for i in range(len(counts))]
    if isinstance(output, tuple):
        output = list(output)
    got = count_rows(output) if hasattr(output, "shape") or isinstance(output, list) else None
    if got != total:
        raise ShipyardError(
            f"the model returned {got if got is not None else type(output).__name__} outputs "
            f"for {total} input rows; batching needs one output per input row"
        )
    pieces: list[Any] = []
    start = 0
    indexer = getattr(output, "iloc", output)
    for count in counts:
        pieces.append(indexer[start : start + count])
        start += count
    return pieces


__all__ = ["concat_rows", "count_rows", "split_rows"]
