"""Fixtures for every test: no process settings built yet, and the PostgreSQL test database.

The public Python API builds the process's `Settings` once, on first use, from `SHIPYARD_*`
variables (`shipyard.tracking.fluent_state.process_settings`). In tests the "process" is one
test: dropping the object before and after each one means a variable a test sets with
`monkeypatch` is read on the test's first API call, as it would be in a fresh process.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from shipyard.tracking.db import normalize_url
from shipyard.tracking.fluent_state import STATE

POSTGRES_URI = os.environ.get("SHIPYARD_TEST_POSTGRES_URI")


@pytest.fixture(autouse=True)
def _fresh_process_settings() -> Iterator[None]:
    STATE.settings = None
    yield
    STATE.settings = None


@pytest.fixture(scope="session")
def postgres_uri() -> Iterator[str]:
    """A uniquely named database on the test server, dropped at the end of the session."""
    if not POSTGRES_URI:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but SHIPYARD_TEST_POSTGRES_URI is not set (.ci/run starts PostgreSQL and sets it)")
        pytest.skip("SHIPYARD_TEST_POSTGRES_URI is not set (CI sets it; see .ci/run)")
    name = f"shipyard_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(normalize_url(sa.make_url(POSTGRES_URI)), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(POSTGRES_URI).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


ECHO_SOURCE = '''
import json

import mlflow.pyfunc
import numpy as np
import pandas as pd


def _plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    raise TypeError(type(value).__name__)


class Echo(mlflow.pyfunc.PythonModel):
    """Answers what it was given: a DataFrame row by row (as JSON text), anything else whole."""

    def predict(self, context, model_input, params=None):
        if isinstance(model_input, pd.DataFrame):
            columns = [str(c) for c in model_input.columns]
            return [
                json.dumps({"columns": columns, "row": row, "params": params}, sort_keys=True, default=_plain)
                for row in model_input.to_dict(orient="records")
            ]
        plain = json.loads(json.dumps(model_input, default=_plain))
        return {"type": type(model_input).__name__, "value": plain, "params": params}
'''


@pytest.fixture(scope="session")
def mlflow_echo_model(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """`mlflow_echo_model(path, signature=None)`: an MLflow-saved python model (saved by the real
    mlflow, its class in a code path, so `mlflow models serve` loads it too) that answers what it
    was given: shows what each side hands a python model for the same request."""
    import importlib.util
    import sys
    import warnings

    source = tmp_path_factory.mktemp("echo") / "shipyard_test_echo.py"
    source.write_text(ECHO_SOURCE)

    def save(path: Path, signature: Any = None) -> Path:
        # NOTE: mlflow warns from inside itself (type hints, pickling); silenced around its calls.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import mlflow.pyfunc

            module = sys.modules.get("shipyard_test_echo")
            if module is None:
                spec = importlib.util.spec_from_file_location("shipyard_test_echo", source)
                assert spec is not None and spec.loader is not None
                module = importlib.util.module_from_spec(spec)
                sys.modules["shipyard_test_echo"] = module
                spec.loader.exec_module(module)
            mlflow.pyfunc.save_model(
                str(path), python_model=module.Echo(), signature=signature, code_paths=[str(source)]
            )
        return path

    return save
