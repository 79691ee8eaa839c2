"""The `MLproject` file, read exactly as MLflow reads it: the name, the environment, the entry
points and their typed parameters. A folder without one runs a `.py` or `.sh` file named as the
entry point (MLflow's rule, too).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from shipyard.exceptions import InvalidInput
from shipyard.projects.params import PARAMETER_TYPES, Parameter

MLPROJECT_FILE = "MLproject"
PYTHON_ENV_FILE = "python_env.yaml"
CONDA_ENV_FILE = "conda.yaml"
SCRIPT_SUFFIXES = (".py", ".sh")
ENV_KEYS = ("python_env", "conda_env", "docker_env")


@dataclass(frozen=True)
class DockerEnv:
    """`docker_env:` of an MLproject: the image, `host:container` volumes, and variables (a
    `[NAME, VALUE]` pair sets one; a name alone copies the host's value)."""

    image: str
    volumes: tuple[str, ...] = ()
    environment: tuple[str | tuple[str, str], ...] = ()


@dataclass(frozen=True)
class EntryPoint:
    name: str
    command: str
    parameters: dict[str, Parameter] = field(default_factory=dict)


@dataclass(frozen=True)
class Project:
    """What an `MLproject` says; `python_env`/`conda_env` are absolute paths when named or found."""

    directory: Path
    name: str | None
    entry_points: dict[str, EntryPoint]
    python_env: Path | None = None
    conda_env: Path | None = None
    docker_env: DockerEnv | None = None

    def entry_point(self, name: str) -> EntryPoint:
        """The entry point called `name`, else a `.py`/`.sh` file of the project by that name."""
        if name in self.entry_points:
            return self.entry_points[name]
        if name.endswith(SCRIPT_SUFFIXES):
            script = (self.directory / name).resolve()
            if not script.is_relative_to(self.directory.resolve()) or not script.is_file():
                raise InvalidInput(f"entry point {name!r}: no such file in the project {self.directory}")
            runner = "python" if name.endswith(".py") else "bash"
            return EntryPoint(name, f"{runner} {shlex.quote(name)}")
        declared = ", ".join(sorted(self.entry_points)) or "none"
        raise InvalidInput(
            f"entry point {name!r} is neither one of the project's entry points ({declared}) nor a "
            f"runnable script (a file ending in {' or '.join(SCRIPT_SUFFIXES)})"
        )


def load_project(directory: Path) -> Project:
    """The project in `directory`: its `MLproject` (any letter case, as MLflow finds it), or a
    project with no entry points (scripts only) and the environment file found there."""
    directory = directory.resolve()
    if not directory.is_dir():
        raise InvalidInput(f"project {directory} is not a folder")
    found = [p for p in directory.iterdir() if p.name.lower() == MLPROJECT_FILE.lower() and p.is_file()]
    if not found:
        return Project(directory, None, {}, *_default_env_files(directory))
    path = found[0]
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{path}: expected a mapping of name, environment and entry_points")
    return _project_from(directory, path, data)


def _project_from(directory: Path, path: Path, data: dict[str, Any]) -> Project:
    named = [key for key in ENV_KEYS if key in data]
    if len(named) > 1:
        raise InvalidInput(f"{path}: name one environment, not {' and '.join(named)}")
    python_env = _env_file(directory, path, data, "python_env")
    conda_env = _env_file(directory, path, data, "conda_env")
    docker_env = _docker_env(path, data["docker_env"]) if "docker_env" in data else None
    if not named:
        python_env, conda_env = _default_env_files(directory)
    raw_entries = data.get("entry_points") or {}
    if not isinstance(raw_entries, dict):
        raise InvalidInput(f"{path}: entry_points must be a mapping of name -> {{parameters, command}}")
    entries = {str(name): _entry_point(path, str(name), spec) for name, spec in raw_entries.items()}
    name = data.get("name")
    return Project(directory, None if name is None else str(name), entries, python_env, conda_env, docker_env)


def _default_env_files(directory: Path) -> tuple[Path | None, Path | None]:
    """MLflow's fallback when the MLproject names no environment: python_env.yaml, else conda.yaml."""
    python_env = directory / PYTHON_ENV_FILE
    if python_env.is_file():
        return python_env, None
    conda_env = directory / CONDA_ENV_FILE
    return None, conda_env if conda_env.is_file() else None


def _env_file(directory: Path, path: Path, data: dict[str, Any], key: str) -> Path | None:
    if key not in data:
        return None
    value = data[key]
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{path}: {key} must name a file in the project, got {value!r}")
    file = (directory / value).resolve()
    if not file.is_file():
        raise InvalidInput(f"{path}: {key} file {value!r} does not exist in {directory}")
    return file


def _docker_env(path: Path, value: Any) -> DockerEnv:
    if not isinstance(value, dict) or not isinstance(value.get("image"), str) or not value["image"]:
        raise InvalidInput(f"{path}: docker_env must be a mapping with an image, got {value!r}")
    volumes = value.get("volumes") or []
    environment = value.get("environment") or []
    if not isinstance(volumes, list) or not all(isinstance(v, str) for v in volumes):
        raise InvalidInput(f"{path}: docker_env.volumes must be a list of 'host:container' strings")
    if not isinstance(environment, list):
        raise InvalidInput(f"{path}: docker_env.environment must be a list of names or [NAME, VALUE] pairs")
    variables: list[str | tuple[str, str]] = []
    for item in environment:
        if isinstance(item, str):
            variables.append(item)
        elif isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item):
            variables.append((item[0], item[1]))
        else:
            raise InvalidInput(f"{path}: docker_env.environment item {item!r} is neither a name nor [NAME, VALUE]")
    return DockerEnv(value["image"], tuple(volumes), tuple(variables))


def _entry_point(path: Path, name: str, spec: Any) -> EntryPoint:
    if not isinstance(spec, dict) or not isinstance(spec.get("command"), str):
        raise InvalidInput(f"{path}: entry point {name!r} needs a command string")
    raw_params = spec.get("parameters") or {}
    if not isinstance(raw_params, dict):
        raise InvalidInput(f"{path}: entry point {name!r}: parameters must be a mapping")
    params = {str(key): _parameter(path, name, str(key), value) for key, value in raw_params.items()}
    return EntryPoint(name, spec["command"], params)


def _parameter(path: Path, entry: str, key: str, value: Any) -> Parameter:
    """The short form (`alpha: float`) or the long one (`alpha: {type: float, default: 0.1}`)."""
    if isinstance(value, str):
        type_name, default, has_default = value, None, False
    elif isinstance(value, dict):
        type_name = str(value.get("type", "string"))
        has_default = "default" in value
        default = None if value.get("default") is None else str(value["default"])
        has_default = has_default and default is not None
    else:
        raise InvalidInput(f"{path}: entry point {entry!r}: parameter {key!r} must be a type name or a mapping")
    if type_name not in PARAMETER_TYPES:
        raise InvalidInput(
            f"{path}: entry point {entry!r}: parameter {key!r} has type {type_name!r}; "
            f"expected one of {', '.join(PARAMETER_TYPES)}"
        )
    return Parameter(key, type_name, default if has_default else None)


__all__ = [
    "CONDA_ENV_FILE",
    "DockerEnv",
    "EntryPoint",
    "MLPROJECT_FILE",
    "PYTHON_ENV_FILE",
    "Project",
    "load_project",
]
