"""`text/csv` bodies: a header line, then one line per row, read by the model's own signature.

CSV has no types: every cell is text. For a model with a schema, each cell is read as the type
of its column (numbers as Python ints or floats, `true`/`false` as booleans, text as text; an
empty cell or `NaN`/`NA`/`null` as a null), and the columns then go through the very rules a
JSON body goes through (`flavors/json_values.py`): a null in a required column, `inf`, a short
row or a word in a number column are 400s naming the column and the row, as in JSON. A model
without a schema gets the DataFrame `pandas.read_csv` builds, as MLflow hands it over.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any

from shipyard.exceptions import SchemaEnforcementError

NULL_TEXTS = frozenset({"", "nan", "na", "n/a", "null", "none", "<na>"})
"""Cells read as a null (compared lower-cased, after stripping spaces), as pandas' defaults do."""
_INT = re.compile(r"[+-]?\d+\Z")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\Z|[+-]?(inf|infinity)\Z", re.IGNORECASE)
_NUMBER_TYPES = frozenset({"integer", "long", "float", "double"})


@dataclass(frozen=True, slots=True)
class CsvTable:
    """A CSV body split into its header and rows of text; `raw` is the body as it came."""

    header: list[str]
    rows: list[list[str]]
    raw: bytes

    def frame(self) -> Any:
        """The DataFrame `pandas.read_csv` makes of the body (what MLflow hands a model)."""
        import pandas as pd

        if not self.rows:
            return pd.DataFrame({name: [] for name in self.header})
        return pd.read_csv(io.BytesIO(self.raw))

    def columns(self, types: dict[Any, str]) -> dict[str, list[Any]]:
        """{column: values}, each cell read as `types[column]` (an unknown column stays text)."""
        out: dict[str, list[Any]] = {}
        for j, name in enumerate(self.header):
            type_name = types.get(name) or types.get(int(name) if name.isdigit() else name)
            out[name] = [cell_value(row[j], type_name) for row in self.rows]
        return out

    def number_rows(self) -> list[list[Any]]:
        """Rows with every cell read as a number where it is one (a tensor model's input)."""
        return [[cell_value(cell, "double") for cell in row] for row in self.rows]


def parse_csv(body: bytes) -> CsvTable:
    """Split a CSV body; 400 for one that is not UTF-8, has no header, repeats a header name or
    has a line with another number of fields than the header."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SchemaEnforcementError(f"the CSV body is not valid UTF-8 (byte {exc.start})") from None
    try:
        lines = [line for line in csv.reader(io.StringIO(text, newline=""), strict=True) if line]
    except csv.Error as exc:
        raise SchemaEnforcementError(f"the body is not valid CSV: {exc}") from None
    if not lines:
        raise SchemaEnforcementError("the CSV body is empty; it needs a header line naming the columns")
    header = [name.strip() for name in lines[0]]
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise SchemaEnforcementError(f"the CSV header repeats column {name!r}")
        seen.add(name)
    for i, row in enumerate(lines[1:]):
        if len(row) != len(header):
            raise SchemaEnforcementError(
                f"CSV row {i} (line {i + 2}) has {len(row)} fields; the header has {len(header)}"
            )
    return CsvTable(header, lines[1:], body)


def cell_value(cell: str, type_name: str | None) -> Any:
    """One CSV cell read as a column of `type_name` would read it (None: left as text)."""
    if type_name is None:
        return cell
    stripped = cell.strip()
    if stripped.lower() in NULL_TEXTS:
        return None
    if type_name in _NUMBER_TYPES:
        if _INT.match(stripped):
            return int(stripped)
        if _FLOAT.match(stripped):
            return float(stripped)
        return cell
    if type_name == "boolean":
        lowered = stripped.lower()
        return True if lowered == "true" else False if lowered == "false" else cell
    return cell


__all__ = ["NULL_TEXTS", "CsvTable", "cell_value", "parse_csv"]
