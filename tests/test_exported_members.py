"""Each package's public surface is written down in a sorted `__all__` whose names all exist."""
from __future__ import annotations

import importlib

import pytest

PACKAGES = [
    "shipyard",
    "shipyard.exceptions",
    "shipyard.flavors",
    "shipyard.registry",
    "shipyard.runtime",
    "shipyard.images",
    "shipyard.tracking",
    "shipyard.tracking.server",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_resolves(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(getattr(module, "__all__", []))
    assert exported == sorted(exported, key=str), f"{name}.__all__ is not sorted"
    assert len(exported) == len(set(exported)), f"{name}.__all__ has duplicates"
    for member in exported:
        assert hasattr(module, member), f"{name}.__all__ names {member!r} but it does not exist"


def test_import_shipyard_does_not_import_heavy_frameworks() -> None:
    """`import shipyard` must stay fast: frameworks load only when a model needs them."""
    import subprocess
    import sys

    code = (
        "import sys, shipyard; "
        "heavy = [m for m in ('torch', 'onnxruntime', 'sklearn', 'mlflow') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/"
    )
    assert out.stdout.strip() == ""
