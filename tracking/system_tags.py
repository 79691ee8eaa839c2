"""System tags recorded on every run started from training code (MLflow's tag keys), so a run
says who ran what, from which file and at which commit."""

from __future__ import annotations

import contextlib
import getpass
import subprocess
import sys
from pathlib import Path

SOURCE_NAME = "mlflow.source.name"
SOURCE_TYPE = "mlflow.source.type"
SOURCE_GIT_COMMIT = "mlflow.source.git.commit"
SOURCE_GIT_BRANCH = "mlflow.source.git.branch"
SOURCE_GIT_REPO_URL = "mlflow.source.git.repoURL"
USER = "mlflow.user"
RUN_NAME = "mlflow.runName"
PARENT_RUN_ID = "mlflow.parentRunId"
NOTE_CONTENT = "mlflow.note.content"
LOGGED_MODELS = "mlflow.log-model.history"
DATASET_CONTEXT = "mlflow.data.context"
"""The input tag (not a run tag) saying what a dataset input was for ("train", "eval"); search
filters on it as `datasets.context`."""
LOGGED_ARTIFACTS = "mlflow.loggedArtifacts"
"""JSON list of `{"path": ..., "type": "table"}`: the tables `log_table` wrote (MLflow's UI reads it)."""


def _git(directory: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=directory, capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def source_name(argv0: str | None = None) -> str:
    """The script that started the process (absolute), or the interpreter for a console."""
    argv0 = sys.argv[0] if argv0 is None else argv0
    if argv0 and argv0 not in ("-c", "-m") and Path(argv0).exists():
        return str(Path(argv0).resolve())
    return argv0 or sys.executable


def resolve_system_tags() -> dict[str, str]:
    """User, source file and (when the source is in a git work tree) commit and branch."""
    tags: dict[str, str] = {SOURCE_TYPE: "LOCAL"}
    with contextlib.suppress(KeyError, OSError):  # no user name in a bare container
        tags[USER] = getpass.getuser()
    name = source_name()
    tags[SOURCE_NAME] = name
    path = Path(name)
    directory = path.parent if path.is_file() else Path.cwd()
    commit = _git(directory, "rev-parse", "HEAD")
    if commit:
        tags[SOURCE_GIT_COMMIT] = commit
        branch = _git(directory, "rev-parse", "--abbrev-ref", "HEAD")
        if branch and branch != "HEAD":
            tags[SOURCE_GIT_BRANCH] = branch
        remote = _git(directory, "config", "--get", "remote.origin.url")
        if remote:
            tags[SOURCE_GIT_REPO_URL] = remote
    return tags


__all__ = ["resolve_system_tags", "source_name"]
