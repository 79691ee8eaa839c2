"""Where a project's files come from: a local folder (run in place), or a git repository (a local
path, `file://`, `https://`, `ssh://`, `git@`) cloned into a temporary folder and checked out at
`version`; `#subdirectory` names the project's folder inside either.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from shipyard.exceptions import InvalidInput

GIT_PREFIXES = ("git@", "git+", "https://", "http://", "ssh://", "file://")


@dataclass(frozen=True)
class Source:
    """The project's folder, what to record about it, and the clone to remove when the run ends."""

    directory: Path
    uri: str
    git_commit: str | None = None
    git_repo_url: str | None = None
    clone: Path | None = None

    def remove_clone(self) -> None:
        if self.clone is not None:
            shutil.rmtree(self.clone, ignore_errors=True)


def _git(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=600, check=False)
    except FileNotFoundError:
        raise InvalidInput("a git project needs git, which is not on PATH") from None


def _head(directory: Path) -> tuple[str | None, str | None]:
    """(commit, origin URL) of the work tree `directory` is in, or (None, None) outside one."""
    if shutil.which("git") is None:
        return None, None
    commit = _git(["rev-parse", "HEAD"], directory)
    if commit.returncode != 0:
        return None, None
    remote = _git(["config", "--get", "remote.origin.url"], directory)
    return commit.stdout.strip(), (remote.stdout.strip() or None) if remote.returncode == 0 else None


def _subdirectory(root: Path, sub: str, uri: str) -> Path:
    folder = (root / sub).resolve() if sub else root.resolve()
    if not folder.is_relative_to(root.resolve()):
        raise InvalidInput(f"project URI {uri!r}: subdirectory {sub!r} leaves the repository")
    if not folder.is_dir():
        raise InvalidInput(f"project URI {uri!r}: subdirectory {sub!r} does not exist")
    return folder


def fetch(uri: str, version: str | None, cwd: Path) -> Source:
    """The project `uri` names (see the module docstring); a local folder runs in place unless a
    `version` asks for a commit of the repository it is. A local `uri` is recorded absolute."""
    location, _, sub = uri.partition("#")
    remote = location.startswith(GIT_PREFIXES)
    if not remote:
        local = (cwd / location).resolve()
        if not local.is_dir():
            raise InvalidInput(f"project URI {uri!r}: no such folder {local}")
        if version is None:
            folder = _subdirectory(local, sub, uri)
            commit, origin = _head(folder)
            return Source(folder, str(local) + (f"#{sub}" if sub else ""), commit, origin)
        if _head(local)[0] is None:
            raise InvalidInput(f"project URI {uri!r}: version {version!r} needs a git repository; {local} is not one")
        location = str(local)
    clone = Path(tempfile.mkdtemp(prefix="shipyard-project-"))
    cloned = _git(["clone", "--quiet", location.removeprefix("git+"), str(clone)])
    if cloned.returncode != 0:
        shutil.rmtree(clone, ignore_errors=True)
        raise InvalidInput(f"project URI {uri!r}: git clone failed: {cloned.stderr.strip()[-500:]}")
    if version is not None:
        checkout = _git(["checkout", "--quiet", version], clone)
        if checkout.returncode != 0:
            shutil.rmtree(clone, ignore_errors=True)
            raise InvalidInput(f"version {version!r} is not a branch, tag or commit of {location}")
    try:
        folder = _subdirectory(clone, sub, uri)
    except InvalidInput:
        shutil.rmtree(clone, ignore_errors=True)
        raise
    commit, _ = _head(clone)
    return Source(folder, uri, commit, location, clone)


__all__ = ["GIT_PREFIXES", "Source", "fetch"]
