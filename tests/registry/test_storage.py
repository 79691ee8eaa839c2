"""Digest and immutable version storage: what is stored is exactly what was read, verifiably."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from shipyard.exceptions import IntegrityError, InvalidInput, ResourceNotFound
from shipyard.registry.digest import compute_digest, digest_hex
from shipyard.registry.storage import VersionStorage, verify_copy


def test_digest_is_stable_and_independent_of_location(model_dir: Callable[..., Path], tmp_path: Path) -> None:
    a = model_dir(b"same", extra={"sub/x.txt": b"1"})
    b = model_dir(b"same", extra={"sub/x.txt": b"1"})
    assert compute_digest(a) == compute_digest(b)
    assert compute_digest(a).startswith("sha256:") and len(digest_hex(compute_digest(a))) == 64


@pytest.mark.parametrize(
    "change",
    [
        lambda d: (d / "model.bin").write_bytes(b"other"),  # edited
        lambda d: (d / "model.bin").write_bytes(b"weights-0"[:3]),  # truncated
        lambda d: (d / "extra.txt").write_text("x"),  # added
        lambda d: (d / "model.bin").unlink(),  # removed
        lambda d: (d / "model.bin").rename(d / "model2.bin"),  # renamed
        lambda d: (d / "empty").mkdir(),  # an empty directory counts too
    ],
)
def test_any_change_changes_the_digest(model_dir: Callable[..., Path], change: Callable[[Path], object]) -> None:
    d = model_dir(b"weights-0")
    before = compute_digest(d)
    change(d)
    assert compute_digest(d) != before


def test_put_stores_a_read_only_verified_copy(model_dir: Callable[..., Path], tmp_path: Path) -> None:
    src = model_dir(extra={"nested/deep/file.txt": b"deep"})
    storage = VersionStorage(tmp_path / "store")
    seen: list[str] = []
    copy = storage.put(src, progress=lambda rel, n: seen.append(rel))
    assert copy.digest == compute_digest(src)
    assert copy.path == storage.path_for(copy.digest)
    assert (copy.path / "nested/deep/file.txt").read_bytes() == b"deep"
    assert sorted(seen) == ["MLmodel", "model.bin", "nested/deep/file.txt"]
    assert not (copy.path / "model.bin").stat().st_mode & 0o222
    assert list((tmp_path / "store" / ".tmp").iterdir()) == []
    # the same content again reuses the copy
    assert (
        storage.put(model_dir(src.joinpath("model.bin").read_bytes(), extra={"nested/deep/file.txt": b"deep"})).path
        == copy.path
    )


def test_verify_refuses_tampered_truncated_or_missing_copies(model_dir: Callable[..., Path], tmp_path: Path) -> None:
    storage = VersionStorage(tmp_path / "store")
    copy = storage.put(model_dir(b"0123456789"))
    verify_copy(copy.path, copy.digest, what="v1")
    target = copy.path / "model.bin"
    target.chmod(0o644)
    target.write_bytes(b"01234")
    with pytest.raises(IntegrityError, match="modified or truncated") as info:
        verify_copy(copy.path, copy.digest, what="model 'm' version 1")
    assert "model 'm' version 1" in info.value.message and copy.digest in info.value.message
    storage.delete(copy.digest)
    with pytest.raises(IntegrityError, match="missing"):
        verify_copy(copy.path, copy.digest, what="v1")


def test_directory_symlinks_and_missing_sources_are_refused(model_dir: Callable[..., Path], tmp_path: Path) -> None:
    src = model_dir()
    (tmp_path / "elsewhere").mkdir()
    (src / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(InvalidInput, match="directory symlink 'link'"):
        VersionStorage(tmp_path / "store").put(src)
    with pytest.raises(ResourceNotFound, match="does not exist"):
        compute_digest(tmp_path / "nope")


def test_import_with_fetches_once_and_refuses_a_wrong_fetch(model_dir: Callable[..., Path], tmp_path: Path) -> None:
    import shutil

    src = model_dir()
    digest = compute_digest(src)
    cache = VersionStorage(tmp_path / "cache")
    fetches: list[Path] = []

    def fetch(dst: Path) -> None:
        fetches.append(dst)
        shutil.copytree(src, dst, dirs_exist_ok=True)

    first = cache.import_with(digest, fetch)
    second = cache.import_with(digest, fetch)
    assert first == second and len(fetches) == 1
    assert compute_digest(first) == digest

    other = model_dir(b"different")
    with pytest.raises(IntegrityError, match="damaged"):
        VersionStorage(tmp_path / "cache2").import_with(
            digest, lambda dst: shutil.copytree(other, dst, dirs_exist_ok=True)
        )


def test_stale_temp_dirs_of_dead_processes_are_swept(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    tmp_root = tmp_path / "store" / ".tmp"
    tmp_root.mkdir(parents=True)
    stale = tmp_root / f"{socket.gethostname()}-{pid}-abc"
    live = tmp_root / f"{socket.gethostname()}-{os.getpid()}-def"
    stale.mkdir()
    live.mkdir()
    removed = VersionStorage(tmp_path / "store").sweep_stale_tmp()
    assert removed == [stale] and live.exists() and not stale.exists()
