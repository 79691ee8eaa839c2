"""Secrets never printed: the masking function, and every `repr`, dump and error that carries a
database or store URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.exceptions import TemporarilyUnavailable
from shipyard.redact import mask_url
from shipyard.registry.rest_store import RestRegistryStore
from shipyard.registry.sql_store import SqlRegistryStore
from shipyard.runtime.settings import ServeSettings
from shipyard.server.run import announce
from shipyard.server.settings import ServerSettings
from shipyard.settings import Settings
from shipyard.tracking.db import create_engine_for
from shipyard.tracking.http_settings import RestClientSettings
from shipyard.tracking.rest_client import RestClient
from shipyard.tracking.rest_store import RestTrackingStore
from shipyard.tracking.sql_store import SqlTrackingStore

SECRET = "s3cret-pw"
DB_URL = f"postgresql://shipyard:{SECRET}@db.example:5432/runs"


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (DB_URL, "postgresql://shipyard:***@db.example:5432/runs"),
        ("postgresql+psycopg2://u:p%40ss@h/db?sslmode=require", "postgresql+psycopg2://u:***@h/db?sslmode=require"),
        ("mysql://u:@h/d", "mysql://u:***@h/d"),
        ("postgresql://u:p@ss@host/db", "postgresql://u:***@host/db"),  # an unencoded @: all of it hidden
        ("postgresql://host/db?password=x&sslmode=require", "postgresql://host/db?password=***&sslmode=require"),
        ("http://alice:pw@tracking:5000/api", "http://alice:***@tracking:5000/api"),
        ("https://bob:pw@tracking.example", "https://bob:***@tracking.example"),
        # nothing to hide: unchanged
        ("postgresql://shipyard@db.example/runs", "postgresql://shipyard@db.example/runs"),
        ("sqlite:///relative/shipyard.db", "sqlite:///relative/shipyard.db"),
        ("sqlite:////abs/we:ird@name.db", "sqlite:////abs/we:ird@name.db"),
        ("sqlite://", "sqlite://"),
        ("http://host:5000/artifacts/a@b:c.txt", "http://host:5000/artifacts/a@b:c.txt"),
        ("/plain/path/shipyard.db", "/plain/path/shipyard.db"),
        ("", ""),
    ],
)
def test_mask_url_hides_the_password_and_keeps_the_rest(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_settings_repr_str_and_log_dump_are_masked(tmp_path: Path) -> None:
    settings = Settings(tracking_uri=DB_URL, registry_uri=DB_URL.replace("runs", "models"), cache_dir=tmp_path)
    for shown in (repr(settings), str(settings), str(settings.public_dump())):
        assert SECRET not in shown and "shipyard:***@db.example" in shown
    assert settings.tracking_uri == DB_URL  # the value used stays real
    assert repr(Settings(tracking_uri=None)).startswith("Settings(tracking_uri=None")


def test_serve_and_server_settings_are_masked_but_hand_off_the_real_url(tmp_path: Path) -> None:
    base = Settings(tracking_uri=DB_URL, cache_dir=tmp_path)
    serve = ServeSettings(base=base, model_uri="models:/iris/1")
    assert SECRET not in repr(serve) and SECRET not in str(serve.public_dump())
    server = ServerSettings(base=base, backend_store_uri=DB_URL)
    assert SECRET not in repr(server) and SECRET not in str(server)
    assert "shipyard:***@db.example" in repr(server)
    assert SECRET not in "\n".join(announce(server))
    # the multi-worker hand-off carries what the workers need to connect
    assert ServeSettings.model_validate_json(serve.model_dump_json()).base.tracking_uri == DB_URL
    assert ServerSettings.model_validate_json(server.model_dump_json()).backend_store_uri == DB_URL


def test_sql_stores_repr_is_masked(tmp_path: Path) -> None:
    """Built on an engine that never connects (no tables are created in a constructor)."""
    engine = create_engine_for(DB_URL)
    try:
        tracking = SqlTrackingStore(engine, (tmp_path / "artifacts").as_uri())
        registry = SqlRegistryStore(engine, (tmp_path / "artifacts").as_uri())
        for store in (tracking, registry):
            assert SECRET not in repr(store) and SECRET not in str(store)
            assert "shipyard:***@db.example:5432/runs" in repr(store)
        assert SECRET in tracking.uri  # NOTE: the real URL, for a registry client on the same database
    finally:
        engine.dispose()


def test_rest_stores_and_client_settings_repr_are_masked() -> None:
    url = f"http://alice:{SECRET}@127.0.0.1:9"
    client = RestClient(url, RestClientSettings(max_retries=0, timeout=2))
    for store in (RestTrackingStore(url, client), RestRegistryStore(url, client)):
        assert SECRET not in repr(store) and "alice:***@127.0.0.1:9" in repr(store)
    credentials = RestClientSettings(username="alice", password=SECRET, token=SECRET)
    assert SECRET not in repr(credentials) and SECRET not in str(credentials)


def test_rest_client_errors_are_masked() -> None:
    """Port 9 (discard) refuses the connection: the error names the server, not the password."""
    client = RestClient(f"http://alice:{SECRET}@127.0.0.1:9", RestClientSettings(max_retries=0, timeout=2))
    with pytest.raises(TemporarilyUnavailable) as info:
        client.call("GET", "/experiments/search")
    assert SECRET not in str(info.value) and "alice:***@127.0.0.1:9" in str(info.value)
