"""Each package's public surface is written down in a sorted `__all__` whose names all exist."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = [
    "shipyard",
    "shipyard.exceptions",
    "shipyard.flavors",
    "shipyard.registry",
    "shipyard.registry.mlflow_import",
    "shipyard.runtime",
    "shipyard.images",
    "shipyard.k8s",
    "shipyard.spark",
    "shipyard.tracking",
    "shipyard.server",
    "shipyard.web",
    "shipyard.commands",
    "shipyard.autologging",
    "shipyard.projects",
    "shipyard.models",
    "shipyard.models.signature",
    "shipyard.types",
    "shipyard.types.schema",
    "shipyard.data",
    "shipyard.entities",
    "shipyard.entities.model_registry",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_resolves(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(getattr(module, "__all__", []))
    assert exported == sorted(exported, key=str), f"{name}.__all__ is not sorted"
    assert len(exported) == len(set(exported)), f"{name}.__all__ has duplicates"
    for member in exported:
        assert hasattr(module, member), f"{name}.__all__ names {member!r} but it does not exist"


LAZY_PACKAGES = [
    "shipyard",
    "shipyard.registry",
    "shipyard.tracking",
    "shipyard.models",
    "shipyard.types",
    "shipyard.data",
    "shipyard.entities",
]


def test_import_shipyard_does_not_import_heavy_frameworks() -> None:
    """`import shipyard` must stay fast: frameworks, databases, pandas and settings load on use."""
    import subprocess
    import sys

    heavy_modules = (
        "torch", "onnxruntime", "sklearn", "mlflow", "sqlalchemy", "alembic", "pandas",
        "pydantic_settings",
    )  # fmt: skip
    code = (
        "import sys, shipyard, shipyard.registry, shipyard.tracking, shipyard.models, shipyard.types, "
        "shipyard.entities; "
        f"heavy = [m for m in {heavy_modules!r} if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("name", LAZY_PACKAGES)
def test_lazy_names_resolve_to_their_import_strings(name: str) -> None:
    """Every name of a lazy package's table is exported and resolves to what its string names."""
    from shipyard.lazy import load

    module = importlib.import_module(name)
    table: dict[str, str] = module._LAZY
    assert set(table) <= set(module.__all__)
    assert set(table) <= set(dir(module))
    for member, import_string in table.items():
        assert getattr(module, member) is load(import_string), f"{name}.{member}"
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        module.no_such_name  # noqa: B018


def test_from_shipyard_import_names_and_flavor_modules() -> None:
    import shipyard.sklearn
    from shipyard import Client, log_metric, sklearn, start_run
    from shipyard.tracking.fluent import log_metric as fluent_log_metric

    assert sklearn is shipyard.sklearn
    assert shipyard.start_run is start_run and log_metric is fluent_log_metric
    assert Client.__name__ == "Client"
