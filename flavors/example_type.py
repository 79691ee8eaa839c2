"""`ModelInputExample`, MLflow's type of an input example, apart from the example files.

NOTE: its own module because the alias needs pandas at runtime (`typing.get_args` lists
`pd.DataFrame`), and `input_example` must stay importable without pandas.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import numpy as np
import pandas as pd

ModelInputExample: TypeAlias = pd.DataFrame | np.ndarray | dict[str, Any] | list[Any] | str | bytes | tuple[Any, ...]
"""What an input example may be (MLflow's `mlflow.models.ModelInputExample`); a tuple is
(example, params). Sparse matrices are MLflow's too but are not listed, to keep scipy optional."""

__all__ = ["ModelInputExample"]
