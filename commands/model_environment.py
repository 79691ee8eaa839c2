"""`--env-manager uv|virtualenv|conda` for `serve`, `models serve` and `models predict`: build
(or reuse) the model's own environment from its env files, then run the same command with
`--env-manager local` in it, so predictions come from the model's pinned libraries.

The environment is the projects' cache (`projects/environments.prepare`, one way to build one):
its spec is derived from the model's `python_env.yaml` + `requirements.txt` (or `conda.yaml`)
plus Shipyard's `serve` extra, and Shipyard's own wheel is installed last with `--no-deps`, as
an image installs it. The derived files' content, not the model's path, makes the cache key, so
every model with the same env files shares one environment.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import tempfile
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

import click
import yaml

from shipyard.exceptions import InvalidInput
from shipyard.flavors.environment import CONDA_ENV_FILE, PYTHON_ENV_FILE
from shipyard.images.context import (
    SERVED_BY_SHIPYARD,
    build_shipyard_wheel,
    canonical_name,
    model_requirements,
    serve_requirements,
)
from shipyard.projects.env_cache import EnvCache
from shipyard.projects.environments import Environment, prepare
from shipyard.projects.launch import env_root
from shipyard.projects.python_env import read_python_env
from shipyard.projects.spec import Project
from shipyard.settings import Settings


def say(message: str) -> None:
    """Progress goes to stderr: stdout is the command's own answer (`models predict`)."""
    click.echo(message, err=True)


def _write_once(folder: Path, name: str, data: bytes) -> Path:
    """`folder/name` with `data`, written atomically (another process may write the same)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if not target.is_file() or target.read_bytes() != data:
        handle, partial = tempfile.mkstemp(prefix=".partial-", dir=folder)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(partial, target)
    return target


def _shipyard_wheel(root: Path) -> Path:
    """The running Shipyard's wheel, kept under the env root by its content hash (the wheel is
    reproducible, so the same source gives the same path and the same environment key)."""
    with tempfile.TemporaryDirectory(prefix="shipyard-wheel-") as tmp:
        built = build_shipyard_wheel(Path(tmp), cache_dir=root / ".shipyard-wheels" / "by-source", log=say)
        data = built.read_bytes()
        folder = root / ".shipyard-wheels" / hashlib.sha256(data).hexdigest()[:20]
        return _write_once(folder, built.name, data)


def _spec_dir(root: Path, files: dict[str, str]) -> Path:
    """A folder named by the content of the derived env files, holding them."""
    digest = hashlib.sha256("\0".join(f"{k}\0{v}" for k, v in sorted(files.items())).encode()).hexdigest()[:20]
    folder = root / ".model-specs" / digest
    for name, text in files.items():
        _write_once(folder, name, text.encode())
    return folder


def _needs(model_dir: Path, file: str, manager: str) -> Path:
    path = model_dir / file
    if not path.is_file():
        raise InvalidInput(
            f"model directory {model_dir} has no {file}, which --env-manager {manager} builds the "
            "environment from (Shipyard and MLflow write it when they save a model); use --env-manager local"
        )
    return path


def _python_project(model_dir: Path, manager: str, root: Path, serving: list[str]) -> Project:
    spec = read_python_env(_needs(model_dir, PYTHON_ENV_FILE, manager))
    requirements = list(dict.fromkeys([*model_requirements(model_dir), *serving]))
    env = {
        "python": spec.python,
        "build_dependencies": list(spec.build_dependencies),
        "dependencies": ["-r requirements.txt"],
    }
    folder = _spec_dir(
        root,
        {PYTHON_ENV_FILE: yaml.safe_dump(env, sort_keys=False), "requirements.txt": "\n".join(requirements) + "\n"},
    )
    return Project(folder, None, {}, python_env=folder / PYTHON_ENV_FILE)


def _name(requirement: str) -> str:
    """The canonical distribution name a pip or conda requirement starts with (`pip<=23` -> `pip`)."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return canonical_name(match.group(1)) if match else ""


def _conda_project(model_dir: Path, root: Path, serving: list[str]) -> Project:
    """The model's conda.yaml, its pip list without Shipyard/MLflow and with the `serve` extra."""
    path = _needs(model_dir, CONDA_ENV_FILE, "conda")
    data: Any = yaml.safe_load(path.read_text()) or {}
    dependencies = data.get("dependencies") if isinstance(data, dict) else None
    if not isinstance(dependencies, list):
        raise InvalidInput(f"{path}: dependencies must be a list (conda packages and a pip: list)")
    pip_entry = next((d for d in dependencies if isinstance(d, dict) and "pip" in d), None)
    pip = [str(r) for r in (pip_entry or {}).get("pip") or []]
    kept = [r for r in pip if _name(r) not in SERVED_BY_SHIPYARD]
    conda = [d for d in dependencies if d is not pip_entry]
    if not any(isinstance(d, str) and _name(d) == "pip" for d in conda):
        conda.append("pip")
    env = {**data, "dependencies": [*conda, {"pip": list(dict.fromkeys([*kept, *serving]))}]}
    env.pop("name", None)
    folder = _spec_dir(root, {CONDA_ENV_FILE: yaml.safe_dump(env, sort_keys=False)})
    return Project(folder, None, {}, conda_env=folder / CONDA_ENV_FILE)


def model_environment(model_dir: Path, manager: str, settings: Settings) -> Environment:
    """The model's environment with Shipyard in it, built once per content and then reused."""
    manager = manager.lower()
    env_file = CONDA_ENV_FILE if manager == "conda" else PYTHON_ENV_FILE
    _needs(model_dir, env_file, manager)
    root = env_root(settings)
    wheel = _shipyard_wheel(root)
    serving = serve_requirements(wheel)
    if manager == "conda":
        project = _conda_project(model_dir, root, serving)
    else:
        project = _python_project(model_dir, manager, root, serving)
    return prepare(project, manager, EnvCache(root), say, then_install=(str(wheel), "--no-deps"))


def local_arguments(ctx: click.Context, replace: dict[str, str]) -> list[str]:
    """The command's own flags as given, with `replace` (`model_uri` -> a path) and
    `--env-manager local`: what the command runs with inside the environment."""
    args: list[str] = []
    for param in ctx.command.params:
        if not isinstance(param, click.Option) or param.name is None or param.name == "env_manager":
            continue
        value = replace.get(param.name, ctx.params.get(param.name))
        if value is None or (param.is_flag and not param.secondary_opts and not value):
            continue
        flag = max(param.opts, key=len)
        if param.multiple:
            for item in (value,) if isinstance(value, str) else value:
                args += [flag, str(item)]
        elif param.is_flag and param.secondary_opts:
            args.append(flag if value else max(param.secondary_opts, key=len))
        elif param.is_flag:
            args.append(flag)
        else:
            args += [flag, str(value)]
    return [*args, "--env-manager", "local"]


def run_inside(environment: Environment, command: list[str]) -> NoReturn:
    """Run `shipyard COMMAND` with the environment's interpreter; SIGINT/SIGTERM go on to it and
    its exit status is this process's."""
    assert environment.path is not None
    program = environment.path / "bin" / "shipyard"
    say(f"Running in {environment.manager} environment {environment.path}: shipyard {' '.join(command)}")
    process = subprocess.Popen([str(program), *command], env=environment.child_env(os.environ))

    def forward(signum: int, _frame: FrameType | None) -> None:
        process.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = process.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    raise SystemExit(code if code >= 0 else 128 - code)


__all__ = ["local_arguments", "model_environment", "run_inside"]
