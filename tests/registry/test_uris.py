"""One resolver for every model URI form; every error names what was asked and what exists."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from shipyard import Client
from shipyard.exceptions import IntegrityError, InvalidInput, InvalidState, ResourceNotFound
from shipyard.registry.digest import compute_digest
from shipyard.registry.uris import ModelsUri, parse_models_uri, parse_runs_uri, resolve_model_uri
from shipyard.settings import Settings


@pytest.mark.parametrize(
    ("uri", "parsed"),
    [
        ("models:/fraud/7", ModelsUri("fraud", version=7)),
        ("models:/fraud/production", ModelsUri("fraud", stage="Production")),
        ("models:/fraud/STAGING", ModelsUri("fraud", stage="Staging")),
        ("models:/fraud@champion", ModelsUri("fraud", alias="champion")),
        ("models:/fraud/latest", ModelsUri("fraud", latest=True)),
        ("models:/fraud/Latest", ModelsUri("fraud", latest=True)),
        ("models:fraud/1", ModelsUri("fraud", version=1)),
    ],
)
def test_models_uri_forms(uri: str, parsed: ModelsUri) -> None:
    assert parse_models_uri(uri) == parsed


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("models:/fraud", "malformed"),
        ("models:/fraud/", "malformed"),
        ("models:/a/b/1", "malformed"),
        ("models:/fraud@", "malformed"),
        ("models:/fraud/0", "start at 1"),
        ("models:/fraud/prod", "neither a version number, 'latest' nor a stage"),
        ("models://host/fraud/1", "registry host"),
    ],
)
def test_malformed_models_uris_say_what_is_expected(uri: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as info:
        parse_models_uri(uri)
    assert uri in info.value.message


def test_runs_uri_parts() -> None:
    assert parse_runs_uri("runs:/abc/model") == ("abc", "model")
    assert parse_runs_uri("runs:/abc/a/b/") == ("abc", "a/b")
    with pytest.raises(InvalidInput, match="runs:/<run_id>"):
        parse_runs_uri("runs:/")


@pytest.fixture
def registry(workspace: str, model_dir: Callable[..., Path]) -> tuple[Client, str, list[Path]]:
    """Three versions of 'fraud' from three runs: v1 Archived, v2 Production, v3 Staging, @champion -> 2."""
    client = Client(workspace)
    exp = client.create_experiment("registry-uris")
    sources: list[Path] = []
    for i in range(3):
        run = client.create_run(exp)
        src = model_dir(f"v{i + 1}".encode())
        client.log_artifacts(run.info.run_id, src, "model")
        sources.append(src)
        client.register_model(f"runs:/{run.info.run_id}/model", "fraud")
    client.transition_model_version_stage("fraud", 1, "Production")
    client.transition_model_version_stage("fraud", 2, "Production", archive_existing_versions=True)
    client.transition_model_version_stage("fraud", 3, "Staging")
    client.set_registered_model_alias("fraud", "champion", 2)
    return client, workspace, sources


@pytest.mark.parametrize(
    ("uri", "version", "stage"),
    [
        ("models:/fraud/1", 1, "Archived"),
        ("models:/fraud/Production", 2, "Production"),
        ("models:/fraud/production", 2, "Production"),
        ("models:/fraud/staging", 3, "Staging"),
        ("models:/fraud@champion", 2, "Production"),
        ("models:/fraud/latest", 3, "Staging"),
    ],
)
def test_every_models_uri_form_resolves_to_its_verified_copy(
    registry: tuple[Client, str, list[Path]], uri: str, version: int, stage: str
) -> None:
    client, _, sources = registry
    resolved = client.resolve(uri)
    assert (resolved.name, resolved.version, resolved.stage) == ("fraud", version, stage)
    assert resolved.aliases == (("champion",) if version == 2 else ())
    assert resolved.digest == compute_digest(sources[version - 1]) == compute_digest(resolved.local_path)
    assert (resolved.local_path / "model.bin").read_bytes() == f"v{version}".encode()
    mv = client.get_model_version("fraud", version)
    assert resolved.run_id == mv.run_id and resolved.source_uri == f"runs:/{mv.run_id}/model"
    # the module-level function, given settings and the same store, finds the same copy
    again = resolve_model_uri(uri, settings=Settings(), tracking_uri=client.tracking_uri)
    assert again.local_path == resolved.local_path


def test_runs_file_and_path_uris_resolve_in_place(registry: tuple[Client, str, list[Path]]) -> None:
    client, _, sources = registry
    run_id = str(client.get_model_version("fraud", 1).run_id)
    by_run = client.resolve(f"runs:/{run_id}/model")
    assert by_run.run_id == run_id and by_run.name is None and by_run.digest is None
    assert (by_run.local_path / "model.bin").read_bytes() == b"v1"
    assert client.resolve(sources[0].as_uri()).local_path == sources[0].resolve()
    assert client.resolve(str(sources[0])).local_path == sources[0].resolve()


def test_unknown_names_versions_stages_and_aliases_list_what_exists(
    registry: tuple[Client, str, list[Path]], tmp_path: Path
) -> None:
    client, _, _ = registry
    cases = [
        ("models:/fruad/1", ["name=fruad not found", "registered models: fraud"]),
        ("models:/fraud/9", ["version=9) not found", "versions: 1, 2, 3"]),
        ("models:/fraud@challenger", ["'challenger'", "@champion -> 2"]),
        ("models:/fraud/None", ["stage None", "Production (version 2)", "Staging (version 3)"]),
        ("models:/fruad@champion", ["name=fruad not found", "registered models: fraud"]),
        (f"runs:/{client.get_model_version('fraud', 1).run_id}/modle", ["'modle'", "its artifacts: model"]),
        (str(tmp_path / "nowhere"), ["nowhere", "does not exist"]),
    ]
    for uri, needles in cases:
        with pytest.raises(ResourceNotFound) as info:
            client.resolve(uri)
        for needle in needles:
            assert needle in info.value.message, (uri, info.value.message)
    with pytest.raises(InvalidInput, match=r"scheme 'gs'.*has no store in Shipyard"):
        client.resolve("gs://bucket/model")


def test_tampered_or_truncated_versions_are_refused(registry: tuple[Client, str, list[Path]]) -> None:
    client, _, _ = registry
    stored = client.resolve("models:/fraud/2").local_path / "model.bin"
    stored.chmod(0o644)
    stored.write_bytes(b"v")  # truncated
    with pytest.raises(IntegrityError, match="model 'fraud' version 2") as info:
        client.resolve("models:/fraud@champion")
    assert "modified or truncated" in info.value.message
    assert client.resolve("models:/fraud/3").version == 3  # other versions are unaffected


def test_pending_versions_are_not_loadable(registry: tuple[Client, str, list[Path]]) -> None:
    client, _, _ = registry
    client.registry_store.create_model_version("fraud", "in-flight")  # a registration in progress
    with pytest.raises(InvalidState, match="PENDING_REGISTRATION"):
        client.resolve("models:/fraud/4")
    assert client.resolve("models:/fraud/latest").version == 3  # latest means latest READY


def test_deleting_versions_frees_storage_only_when_unused(
    registry: tuple[Client, str, list[Path]], model_dir: Callable[..., Path]
) -> None:
    client, _, sources = registry
    again = client.register_model(str(sources[0]), "fraud-copy")  # same content as fraud/1
    shared = client.resolve("models:/fraud/1").local_path
    client.delete_model_version("fraud", 1)
    assert shared.is_dir()  # still used by fraud-copy/1
    client.delete_registered_model("fraud-copy")
    assert not shared.exists()
    assert again.version == 1


def test_resolving_a_local_directory_imports_no_database_code(tmp_path: Path) -> None:
    """Serving a plain directory needs no store: SQLAlchemy and alembic stay unimported."""
    import subprocess
    import sys

    code = (
        "import sys; import shipyard.runtime.cli; "
        "from shipyard.registry.uris import resolve_model_uri; from shipyard.settings import Settings; "
        f"print(resolve_model_uri({str(tmp_path)!r}, settings=Settings()).local_path); "
        "print(','.join(m for m in ('sqlalchemy', 'alembic', 'shipyard.tracking.sql_store', "
        "'shipyard.registry.sql_store') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    resolved, imported = out.stdout.splitlines()
    assert resolved == str(tmp_path.resolve())
    assert imported == ""
