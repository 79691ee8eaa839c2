"""Many processes at once: version numbers are handed out exactly once, one Production wins,
and a registration killed mid-copy leaves nothing READY and nothing loadable."""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from shipyard.exceptions import InvalidState
from shipyard.registry.digest import compute_digest
from shipyard.registry.registration import register_version
from shipyard.registry.sql_store import SqlRegistryStore
from shipyard.registry.uris import find_version, local_copy, parse_models_uri
from shipyard.settings import Settings

WORKER = Path(__file__).with_name("registry_worker.py")


def _run_worker(cwd: Path, *args: str) -> list[dict[str, object]]:
    out = subprocess.run([sys.executable, str(WORKER), *args], cwd=cwd, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    results: list[dict[str, object]] = json.loads(out.stdout.strip().splitlines()[-1])
    return results


def test_twenty_processes_registering_get_versions_1_to_20_once(
    store: SqlRegistryStore,
    db_uri: str,
    artifact_root: str,
    model_name: str,
    model_dir: Callable[..., Path],
    tmp_path: Path,
) -> None:
    # two contents: numbers are raced for, and so is publishing one digest twice
    sources = [str(model_dir(b"content-a")), str(model_dir(b"content-b"))]
    results = _run_worker(tmp_path, "register", db_uri, artifact_root, model_name, "20", *sources)
    assert [r.get("error") for r in results] == [None] * 20
    assert sorted(int(r["ok"]) for r in results) == list(range(1, 21))  # type: ignore[call-overload]
    versions = store.search_model_versions(f"name = '{model_name}'")
    assert sorted(v.version for v in versions) == list(range(1, 21))
    assert {v.status for v in versions} == {"READY"}
    digests = {compute_digest(s) for s in sources}
    assert {v.digest for v in versions} == digests
    for v in versions:
        local_copy(v, settings=Settings())  # each stored copy verifies


def test_ten_concurrent_transitions_to_production_leave_exactly_one(
    store: SqlRegistryStore,
    db_uri: str,
    artifact_root: str,
    model_name: str,
    model_dir: Callable[..., Path],
    tmp_path: Path,
) -> None:
    store.create_registered_model(model_name)
    for _ in range(10):
        register_version(store, model_name, model_dir(), source="test")
    results = _run_worker(tmp_path, "transition", db_uri, artifact_root, model_name, "10")
    assert [r.get("error") for r in results] == [None] * 10
    stages = [v.current_stage for v in store.search_model_versions(f"name = '{model_name}'")]
    assert stages.count("Production") == 1 and stages.count("Archived") == 9
    history = store.get_history(model_name)
    into_production = [e for e in history if e.to_value == "Production"]
    assert sorted(e.version for e in into_production) == list(range(1, 11))  # type: ignore[type-var]
    # the history replays to the final state: the last version moved in is the one in Production
    winner = store.get_latest_versions(model_name, ["Production"])[0].version
    assert into_production[-1].version == winner
    # each transition archived exactly the version that was in Production just before it
    for before, after in itertools.pairwise(into_production):
        archived = [e for e in history if e.id < after.id and e.id > before.id and e.to_value == "Archived"]
        assert [e.version for e in archived] == [before.version]


def test_registration_killed_mid_copy_leaves_no_ready_version(
    store: SqlRegistryStore,
    db_uri: str,
    artifact_root: str,
    model_name: str,
    model_dir: Callable[..., Path],
    tmp_path: Path,
) -> None:
    store.create_registered_model(model_name)
    source = model_dir(b"x" * 100_000, extra={f"part-{i}.bin": bytes([i]) * 50_000 for i in range(5)})
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), "slow", db_uri, artifact_root, model_name, str(source)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("COPIED"), proc.stderr.read() if proc.stderr else line
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    if proc.stderr:
        proc.stderr.close()

    killed = store.get_model_version(model_name, 1)
    assert killed.status == "PENDING_REGISTRATION" and killed.digest is None
    assert str(killed.status_message).startswith("registering on")
    storage_root = Path(artifact_root.removeprefix("file://")) / "model-versions"
    assert not (storage_root / "sha256").exists() or not any((storage_root / "sha256").iterdir())
    assert len(list((storage_root / ".tmp").iterdir())) == 1  # the half copy, never published
    with pytest.raises(InvalidState, match="PENDING_REGISTRATION"):
        local_copy(find_version(store, parse_models_uri(f"models:/{model_name}/1"), "uri"), settings=Settings())
    with pytest.raises(InvalidState):
        store.transition_model_version_stage(model_name, 1, "Production")

    nxt = register_version(store, model_name, source, source="retry")
    assert (nxt.version, nxt.status, nxt.digest) == (2, "READY", compute_digest(source))
    assert list((storage_root / ".tmp").iterdir()) == []  # the dead process's temp copy was swept
    latest = find_version(store, parse_models_uri(f"models:/{model_name}/latest"), "uri")
    assert latest.version == 2
    reaped = store.get_model_version(model_name, 1)  # the dead registration is now marked failed
    assert reaped.status == "FAILED_REGISTRATION" and "ended before the copy completed" in str(reaped.status_message)
