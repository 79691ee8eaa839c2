"""Registry fixtures: a real store on sqlite (always) and PostgreSQL (when CI provides one).

PostgreSQL: one fresh database per test session, created from SHIPYARD_TEST_POSTGRES_URI and
dropped at the end; tests keep apart by using unique model names.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from shipyard.registry.sql_store import SqlRegistryStore
from shipyard.tracking.db import normalize_url

POSTGRES_ADMIN_URI = os.environ.get("SHIPYARD_TEST_POSTGRES_URI")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_ADMIN_URI else [])


def write_model_dir(path: Path, payload: bytes = b"weights", *, extra: dict[str, bytes] | None = None) -> Path:
    """A small directory that looks like an MLmodel directory (enough to register and verify)."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "MLmodel").write_text("artifact_path: model\nflavors:\n  python_function:\n    loader_module: test\n")
    (path / "model.bin").write_bytes(payload)
    for name, data in (extra or {}).items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return path


@pytest.fixture(scope="session")
def postgres_uri() -> Iterator[str | None]:
    if not POSTGRES_ADMIN_URI:
        yield None
        return
    admin = sa.create_engine(normalize_url(sa.make_url(POSTGRES_ADMIN_URI)), isolation_level="AUTOCOMMIT")
    name = f"shipyard_registry_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(POSTGRES_ADMIN_URI).set(database=name)  # as users write it: postgresql://
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_uri(request: pytest.FixtureRequest, tmp_path: Path, postgres_uri: str | None) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    assert postgres_uri is not None
    return postgres_uri


@pytest.fixture
def artifact_root(tmp_path: Path) -> str:
    return (tmp_path / "artifacts").resolve().as_uri()


@pytest.fixture
def store(db_uri: str, artifact_root: str) -> Iterator[SqlRegistryStore]:
    s = SqlRegistryStore.open(db_uri, artifact_root)
    yield s
    s.close()


@pytest.fixture
def model_name() -> str:
    """Unique per test, so tests sharing the session's PostgreSQL database stay apart."""
    return f"model-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def model_dir(tmp_path: Path) -> Callable[..., Path]:
    counter = iter(range(1_000_000))

    def make(payload: bytes | None = None, **kwargs: dict[str, bytes]) -> Path:
        n = next(counter)
        return write_model_dir(tmp_path / f"src-{n}", payload or f"weights-{n}".encode(), **kwargs)

    return make


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A working directory with the embedded sqlite default (the tracking URI it yields),
    its own cache directory and no fluent state: what a user gets on a fresh machine."""
    from shipyard.tracking import fluent

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHIPYARD_TRACKING_URI", raising=False)
    monkeypatch.delenv("SHIPYARD_REGISTRY_URI", raising=False)
    monkeypatch.setenv("SHIPYARD_CACHE_DIR", str(tmp_path / "cache"))
    fluent.set_tracking_uri(None)
    yield f"sqlite:///{tmp_path.resolve() / 'shipyard.db'}"
    while fluent.active_run() is not None:
        fluent.end_run()
    fluent.set_tracking_uri(None)
