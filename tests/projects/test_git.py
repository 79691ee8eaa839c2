"""Git sources: a repository made in the test, run at a given commit, with `#subdirectory`;
the commit and the repository are recorded on the run."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import shipyard
from shipyard.exceptions import InvalidInput
from shipyard.tracking.entities import Run

TRAIN = "import shipyard\nwith shipyard.start_run():\n    shipyard.log_metric('version', {version})\n"


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout.strip()


@pytest.fixture()
def clones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder clones go to (here and in a `shipyard run` subprocess)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setenv("TMPDIR", str(folder))
    return folder


@pytest.fixture()
def repo(tmp_path: Path, clones: Path) -> tuple[Path, str, str]:
    """(repository, first commit, second commit): the project lives in `proj/`."""
    root = tmp_path / "repo"
    (root / "proj").mkdir(parents=True)
    git(root, "init", "--quiet", "-b", "main")
    (root / "proj" / "MLproject").write_text("entry_points:\n  main: {command: python train.py}\n")
    (root / "proj" / "train.py").write_text(TRAIN.format(version=1))
    git(root, "add", ".")
    git(root, "commit", "--quiet", "-m", "one")
    first = git(root, "rev-parse", "HEAD")
    (root / "proj" / "train.py").write_text(TRAIN.format(version=2))
    git(root, "commit", "--quiet", "-am", "two")
    git(root, "tag", "v2")
    return root, first, git(root, "rev-parse", "HEAD")


def test_a_git_repository_runs_at_a_commit_and_records_it(
    repo: tuple[Path, str, str],
    store_uri: str,
    runs_in: Callable[[str], list[Run]],
    cli: Any,
    tmp_path: Path,
    clones: Path,
) -> None:
    root, first, second = repo
    uri = f"file://{root}#proj"
    at_first = shipyard.projects.run(uri, version=first, env_manager="local")
    out = cli("run", uri, "--version", "v2", "--env-manager", "local", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    runs = {r.info.run_id: r for r in runs_in(store_uri)}
    assert runs[at_first.run_id].data.metrics == {"version": 1.0}
    tags = runs[at_first.run_id].data.tags
    assert (tags["mlflow.source.git.commit"], tags["mlflow.source.git.repoURL"]) == (first, f"file://{root}")
    assert tags["mlflow.source.name"] == uri
    (later,) = [r for r in runs.values() if r.info.run_id != at_first.run_id]
    assert later.data.metrics == {"version": 2.0} and later.data.tags["mlflow.source.git.commit"] == second
    assert list(clones.iterdir()) == []  # each clone is removed when its run ends


def test_a_local_work_tree_runs_in_place_and_records_its_commit(
    repo: tuple[Path, str, str], store_uri: str, runs_in: Callable[[str], list[Run]]
) -> None:
    root, first, second = repo
    shipyard.projects.run(f"{root}#proj", env_manager="local")
    at_first = shipyard.projects.run(str(root) + "#proj", version=first, env_manager="local")
    runs = {r.info.run_id: r for r in runs_in(store_uri)}
    assert runs[at_first.run_id].data.metrics == {"version": 1.0}
    assert {r.data.tags["mlflow.source.git.commit"] for r in runs.values()} == {first, second}


@pytest.mark.parametrize(
    ("uri_suffix", "version", "message"),
    [
        ("#proj", "no-such-branch", "version 'no-such-branch' is not a branch, tag or commit"),
        ("#missing", None, "subdirectory 'missing' does not exist"),
        ("#../..", None, "subdirectory '../..' leaves the repository"),
    ],
)
def test_bad_git_sources_are_clear_errors(
    repo: tuple[Path, str, str], store_uri: str, runs_in: Callable[[str], list[Run]],
    uri_suffix: str, version: str | None, message: str, clones: Path,
) -> None:  # fmt: skip
    with pytest.raises(InvalidInput, match=message.replace(".", r"\.")):
        shipyard.projects.run(f"file://{repo[0]}{uri_suffix}", version=version, env_manager="local")
    assert runs_in(store_uri) == []
    assert list(clones.iterdir()) == []


def test_a_version_of_a_folder_that_is_no_repository_is_refused(tmp_path: Path, store_uri: str) -> None:
    (tmp_path / "plain").mkdir()
    with pytest.raises(InvalidInput, match="version 'v1' needs a git repository"):
        shipyard.projects.run(str(tmp_path / "plain"), version="v1")
