"""Import strings ("module:attr") resolved on first use: plugin tables and lazy package exports.

A package whose public names pull in heavy libraries (SQLAlchemy, alembic, pandas,
pydantic-settings) lists them in a table of import strings instead of importing them, so that
importing the package, or any module under it, costs next to nothing until a name is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def load(import_string: str) -> Any:
    """`"pkg.mod:attr"` -> that attribute; `"pkg.mod"` (no colon) -> the module itself."""
    module_name, _, attr = import_string.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr) if attr else module


def lazy_exports(package: str, table: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A PEP 562 `__getattr__` and `__dir__` for `package`, resolving `table`'s names on first use.

    NOTE: each resolved value is stored in the package's namespace, so the next access is a plain
    attribute lookup that never reaches `__getattr__` again.
    """

    def __getattr__(name: str) -> Any:
        if name not in table:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = load(table[name])
        setattr(importlib.import_module(package), name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(importlib.import_module(package))) | set(table))

    return __getattr__, __dir__


__all__ = ["lazy_exports", "load"]
