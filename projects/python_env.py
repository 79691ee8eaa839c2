"""`python_env.yaml` (MLflow's format): the Python version, the build dependencies installed first,
then the dependencies; a `-r FILE` line reads requirements from a file beside it.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from shipyard.exceptions import InvalidInput


@dataclass(frozen=True)
class PythonEnvSpec:
    """What an environment needs; `requirement_files` are the `-r` files, whose content is part of
    the cache key like the spec's own."""

    python: str
    build_dependencies: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()
    source_text: str = ""
    requirement_files: tuple[Path, ...] = ()

    def content_hash(self, manager: str, interpreter_version: str) -> str:
        """The cache key: the env file's content, its `-r` files', the manager and the Python."""
        digest = hashlib.sha256()
        for part in (manager, interpreter_version, self.python, self.source_text):
            digest.update(part.encode() + b"\0")
        for path in self.requirement_files:
            digest.update(path.read_bytes() + b"\0")
        return digest.hexdigest()[:20]


def current_python() -> str:
    """The running interpreter's `major.minor.micro`."""
    return ".".join(str(n) for n in sys.version_info[:3])


def _strings(path: Path, data: dict[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"{path}: {key} must be a list of requirement strings, got {value!r}")
    return tuple(value)


def read_python_env(path: Path | None) -> PythonEnvSpec:
    """The spec in `path`; None (no env file) means the running Python and no dependencies."""
    if path is None:
        return PythonEnvSpec(python=current_python())
    text = path.read_text()
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{path}: expected a mapping with python, build_dependencies, dependencies")
    python = data.get("python")
    if python is None:
        raise InvalidInput(f'{path}: python is missing (the Python version, e.g. python: "3.11")')
    python = str(python)
    if not all(part.isdigit() for part in python.split(".")) or python.count(".") > 2:
        raise InvalidInput(f"{path}: python {python!r} is not a version like 3.11 or 3.11.7")
    dependencies = _strings(path, data, "dependencies")
    files = []
    for line in dependencies:
        if line.startswith(("-r ", "--requirement ")):
            file = (path.parent / line.split(maxsplit=1)[1].strip()).resolve()
            if not file.is_file():
                raise InvalidInput(f"{path}: dependencies line {line!r}: no such file {file}")
            files.append(file)
    return PythonEnvSpec(python, _strings(path, data, "build_dependencies"), dependencies, text, tuple(files))


def pip_arguments(spec_dir: Path, requirements: tuple[str, ...]) -> list[str]:
    """`pip install` arguments for requirement lines: `-r FILE` resolved beside the env file."""
    args: list[str] = []
    for line in requirements:
        if line.startswith(("-r ", "--requirement ")):
            args += ["-r", str((spec_dir / line.split(maxsplit=1)[1].strip()).resolve())]
        else:
            args.append(line)
    return args


__all__ = ["PythonEnvSpec", "current_python", "pip_arguments", "read_python_env"]
