"""One `Settings` object per process, built only at the edges and passed down.

The edges: the CLI commands, and the public Python API's first use in a process (which keeps
the object in `tracking/fluent_state.py`). Everything below takes `settings` as a parameter.
Read with `ast`, never by importing, as the import-graph test does.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import shipyard
from shipyard.registry.client import RegistryClient
from shipyard.runtime.settings import ServeSettings
from shipyard.server.settings import ServerSettings
from shipyard.settings import Settings
from shipyard.tracking import fluent_state
from shipyard.tracking.client import TrackingClient

ROOT = Path(__file__).resolve().parents[1]
SKIPPED_DIRS = {"tests", "bench", "examples", "docs", ".venv", ".git", "build", "dist"}

EDGES: dict[str, frozenset[str]] = {
    "Settings": frozenset(
        {
            "settings.py",  # cli_settings and settings_from_flags, which only CLI commands call
            "tracking/fluent_state.py",  # the Python API's first use (process_settings)
        }
    ),
    "cli_settings": frozenset(
        {
            "settings.py",  # settings_from_flags
            "images/cli.py",  # shipyard build-docker / generate-dockerfile
            "k8s/cli.py",  # shipyard generate-k8s
            "models_cli.py",  # shipyard models ...
            "commands/tracking_edge.py",  # shipyard experiments|runs|artifacts ...
            "commands/gc.py",  # shipyard gc
            "commands/flush.py",  # shipyard flush
            "commands/db_import.py",  # shipyard db import
            "commands/model_predict.py",  # shipyard models predict
            "commands/run.py",  # shipyard run
            "commands/env.py",  # shipyard env list|gc
        }
    ),
    "settings_from_flags": frozenset(
        {"runtime/cli.py", "server/cli.py", "commands/model_serving.py"}  # serve, server, serve --env-manager uv
    ),
    "ServeSettings": frozenset(),
    "ServerSettings": frozenset(),
}
"""Settings class -> the only modules that may call it (worker processes rebuild theirs with
`model_validate_json` from the parent's hand-off, which reads no environment)."""


def source_files() -> Iterator[Path]:
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in SKIPPED_DIRS or any(p.startswith(".") for p in relative.parts):
            continue
        yield path


def constructions(tree: ast.AST) -> Iterator[tuple[str, int]]:
    """(class name, line) of every call of a settings class, by name or attribute, and of every
    import that renames one (an alias would hide a call from this test)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
            if name in EDGES:
                yield name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name in EDGES and alias.asname not in (None, alias.name):
                    yield f"{alias.name} as {alias.asname}", node.lineno


def test_settings_are_built_only_at_the_edges() -> None:
    found: list[str] = []
    for path in source_files():
        relative = path.relative_to(ROOT).as_posix()
        for name, line in constructions(ast.parse(path.read_text(), str(path))):
            if relative not in EDGES.get(name, frozenset()):
                found.append(f"{relative}:{line}: {name}(...) outside the edges")
    assert not found, "build settings at an edge and pass them down:\n" + "\n".join(found)


def test_the_scan_sees_calls_and_renaming_imports() -> None:
    code = "from shipyard.settings import Settings as S\nx = Settings()\ny = settings.Settings()\nS()\n"
    assert sorted(constructions(ast.parse(code))) == [("Settings", 2), ("Settings", 3), ("Settings as S", 1)]
    for relative in set().union(*EDGES.values()):
        assert (ROOT / relative).is_file(), f"allow-listed edge {relative} does not exist"


@pytest.mark.parametrize("area", [ServeSettings, ServerSettings])
def test_area_settings_contain_settings_instead_of_repeating_its_fields(area: type) -> None:
    fields = area.model_fields
    assert fields["base"].annotation is Settings and fields["base"].is_required()
    assert not (set(fields) & set(Settings.model_fields)), "a field of Settings is repeated"


def test_the_hand_off_to_workers_keeps_the_contained_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The parent's JSON wins over what a worker's environment says (it is not read again)."""
    base = Settings(tracking_uri=f"sqlite:///{tmp_path / 'a.db'}", cache_dir=tmp_path / "cache", allow_pickle=False)
    serve = ServeSettings(base=base, model_uri="models:/iris/1", workers=2)
    server = ServerSettings(base=base, workers=2)
    monkeypatch.setenv("SHIPYARD_ALLOW_PICKLE", "true")
    monkeypatch.setenv("SHIPYARD_TRACKING_URI", "sqlite:///elsewhere.db")
    assert ServeSettings.model_validate_json(serve.model_dump_json()) == serve
    assert ServerSettings.model_validate_json(server.model_dump_json()) == server
    assert ServeSettings.model_validate_json(serve.model_dump_json()).base.allow_pickle is False


def test_cli_flags_and_variables_still_reach_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the CLI edges build: `SHIPYARD_*` into the contained Settings, flags win."""
    monkeypatch.setenv("SHIPYARD_ALLOW_PICKLE", "false")
    monkeypatch.setenv("SHIPYARD_WORKERS", "3")
    monkeypatch.setenv("SHIPYARD_SERVER_WORKERS", "4")
    serve = ServeSettings(base=Settings(), port=6000)
    assert (serve.base.allow_pickle, serve.workers, serve.port) == (False, 3, 6000)
    server = ServerSettings(base=Settings(), host="0.0.0.0")
    assert (server.base.allow_pickle, server.workers, server.host) == (False, 4, "0.0.0.0")


def test_the_python_api_shares_one_process_settings_object(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SHIPYARD_CACHE_DIR", str(tmp_path / "cache"))
    first = fluent_state.process_settings()
    assert first is fluent_state.process_settings()
    assert first.cache_dir == tmp_path / "cache"
    uri = f"sqlite:///{tmp_path / 'shipyard.db'}"
    assert shipyard.Client(uri)._settings is first
    assert TrackingClient(uri)._settings is first
    assert RegistryClient(uri)._settings is first
    explicit = Settings(cache_dir=tmp_path / "other")
    assert RegistryClient(uri, settings=explicit)._settings is explicit
    monkeypatch.setenv("SHIPYARD_CACHE_DIR", str(tmp_path / "later"))
    assert fluent_state.process_settings() is first  # read once per process
    shipyard.set_tracking_uri(None)  # "back to the environment": read again on next use
    assert fluent_state.process_settings().cache_dir == tmp_path / "later"


def test_the_rest_client_settings_come_from_the_process_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials and retries are fields of `Settings`, copied at the edge, never read deep down."""
    from pydantic_settings import BaseSettings

    from shipyard.tracking.http_settings import RestClientSettings

    assert not issubclass(RestClientSettings, BaseSettings)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "from-mlflow")
    monkeypatch.setenv("SHIPYARD_HTTP_REQUEST_TIMEOUT", "7")
    shipyard.set_tracking_uri(None)
    http = fluent_state.process_http()
    assert (http.token, http.timeout) == ("from-mlflow", 7.0)
    assert http == RestClientSettings.from_settings(fluent_state.process_settings())
    assert TrackingClient("http://127.0.0.1:9")._http is http
    assert RegistryClient("http://127.0.0.1:9")._http is http
    shipyard.set_tracking_uri(None)
