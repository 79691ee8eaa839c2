"""Where a project's command runs: `local` (this interpreter), or a cached environment built
once by `uv` (`uv venv` + `uv pip install`), `virtualenv` (stdlib venv + pip) or `conda`.

A requested Python that is not on the machine is an error naming it and the interpreters found;
`python_fallback` takes the nearest one instead, with a warning the caller records as a tag.
Never a silent substitution.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from shipyard.exceptions import InvalidInput, InvalidState
from shipyard.projects.env_cache import EnvCache, Progress
from shipyard.projects.python_env import PythonEnvSpec, current_python, pip_arguments, read_python_env
from shipyard.projects.spec import Project

ENV_MANAGERS = ("conda", "docker", "local", "uv", "virtualenv")
"""The `--env-manager` values (`docker` only for a project with `docker_env`)."""


@dataclass(frozen=True)
class Environment:
    """A ready environment: `path` None is the current interpreter's (local) or a container's."""

    manager: str
    path: Path | None = None
    reused: bool = False
    python_fallback: str | None = None
    """The interpreter version used instead of the one asked for (with `python_fallback`)."""

    def child_env(self, base: Mapping[str, str]) -> dict[str, str]:
        """`base` with this environment's `bin` first on PATH, as activating it would do."""
        env = dict(base)
        if self.path is None:
            return env
        bin_dir = self.path / "bin"
        env["PATH"] = os.pathsep.join([str(bin_dir), *([base["PATH"]] if base.get("PATH") else [])])
        env["VIRTUAL_ENV" if self.manager != "conda" else "CONDA_PREFIX"] = str(self.path)
        env.pop("PYTHONHOME", None)
        return env


def find_uv() -> str | None:
    """The `uv` binary: on PATH, else the one the `uv` package installed beside this Python."""
    found = shutil.which("uv")
    if found:
        return found
    beside = Path(sys.executable).parent / "uv"
    return str(beside) if beside.is_file() else None


def choose_manager(project: Project, requested: str | None) -> str:
    """`requested` checked against the project; None picks MLflow's choice for what it names:
    docker_env -> docker, conda_env -> conda, python_env -> uv when installed else virtualenv,
    nothing -> local."""
    if requested is not None and requested not in ENV_MANAGERS:
        raise InvalidInput(f"env_manager {requested!r} is not supported; expected one of {', '.join(ENV_MANAGERS)}")
    if project.docker_env is not None:
        if requested not in (None, "docker"):
            raise InvalidInput(f"env_manager {requested!r}: the project names a docker_env, which runs in a container")
        return "docker"
    if requested == "docker":
        raise InvalidInput("env_manager 'docker' needs a docker_env in the project's MLproject")
    if requested is not None:
        if requested in ("uv", "virtualenv") and project.conda_env is not None and project.python_env is None:
            raise InvalidInput(
                f"env_manager {requested!r} needs a python_env; the project names only conda_env "
                f"{project.conda_env.name} (use --env-manager conda or local)"
            )
        return requested
    if project.conda_env is not None:
        return "conda"
    if project.python_env is not None:
        return "uv" if find_uv() else "virtualenv"
    return "local"


def _run_logged(args: Sequence[str], progress: Progress, what: str) -> None:
    """Run an installer step, passing each output line to `progress`; a failure names the step."""
    progress(f"$ {' '.join(args)}")
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    tail: list[str] = []
    for line in process.stdout:
        progress(line.rstrip())
        tail = [*tail[-19:], line.rstrip()]
    if process.wait() != 0:
        shown = "\n".join(tail)
        raise InvalidState(f"{what} failed with exit status {process.returncode}:\n{shown}")


def _version_of(python: str) -> str | None:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print('.'.join(map(str, sys.version_info[:3])))"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _matches(version: str, wanted: str) -> bool:
    return version.split(".")[: len(wanted.split("."))] == wanted.split(".")


def find_python(wanted: str, fallback: bool, progress: Progress) -> tuple[str, str, str | None]:
    """(interpreter, its version, the fallback version or None) for `wanted` (`3.11`, `3.11.7`)."""
    if _matches(current_python(), wanted):
        return sys.executable, current_python(), None
    found: dict[str, str] = {}
    for minor in range(6, 20):
        candidate = shutil.which(f"python3.{minor}")
        version = _version_of(candidate) if candidate else None
        if candidate and version:
            found[candidate] = version
    for candidate, version in found.items():
        if _matches(version, wanted):
            return candidate, version, None
    listed = ", ".join(f"{v} ({p})" for p, v in found.items()) or "none"
    if not found or not fallback:
        hint = "; pass --python-fallback (python_fallback=True) to use the nearest one" if found else ""
        raise InvalidInput(f"python_env asks for Python {wanted}, which is not on this machine; found: {listed}{hint}")
    want = [int(n) for n in wanted.split(".")]
    nearest = min(
        found, key=lambda p: [abs(a - b) for a, b in zip([int(n) for n in found[p].split(".")], want, strict=False)]
    )
    progress(f"WARNING: Python {wanted} is not on this machine; using Python {found[nearest]} ({nearest}) instead")
    return nearest, found[nearest], found[nearest]


def _python_env_file(project: Project, manager: str) -> Path | None:
    if project.python_env is None and project.conda_env is not None:
        raise InvalidInput(f"env_manager {manager!r} needs a python_env; the project names only conda_env")
    return project.python_env


def _then_key(then_install: tuple[str, ...]) -> str:
    """The cache-key suffix for `then_install` ("" without one, so project keys stay as they were)."""
    if not then_install:
        return ""
    return "-" + hashlib.sha256("\0".join(then_install).encode()).hexdigest()[:12]


def prepare(
    project: Project,
    manager: str,
    cache: EnvCache,
    progress: Progress,
    python_fallback: bool = False,
    then_install: tuple[str, ...] = (),
) -> Environment:
    """The environment `manager` gives the project, from the cache when it was built before.

    `then_install`: pip arguments installed last, in their own call, as part of the same cached
    build (a model environment's `--no-deps` Shipyard wheel)."""
    if manager in ("local", "docker"):
        return Environment(manager)
    if manager == "conda":
        return _prepare_conda(project, cache, progress, then_install)
    env_file = _python_env_file(project, manager)
    spec = read_python_env(env_file)
    spec_dir = env_file.parent if env_file is not None else project.directory
    source = str(env_file) if env_file is not None else "(no python_env: the running Python, no dependencies)"
    if manager == "uv":
        uv = find_uv()
        if uv is None:
            raise InvalidState("env_manager 'uv' needs uv, which is not installed: pip install uv (or shipyard[uv])")
        key = f"uv-{spec.content_hash('uv', spec.python)}{_then_key(then_install)}"
        info = {"manager": "uv", "python": spec.python, "source": source}

        def build(path: Path) -> None:
            _run_logged([uv, "venv", "--python", spec.python, str(path)], progress, "uv venv")
            python = str(path / "bin" / "python")
            for deps in (spec.build_dependencies, spec.dependencies):
                if deps:
                    args = [uv, "pip", "install", "--python", python, *pip_arguments(spec_dir, deps)]
                    _run_logged(args, progress, "uv pip install")
            if then_install:
                _run_logged([uv, "pip", "install", "--python", python, *then_install], progress, "uv pip install")

        path, reused = _obtain(cache, key, info, build, progress, manager, spec.python)
        return Environment("uv", path, reused)
    interpreter, version, fell_back = find_python(spec.python, python_fallback, progress)
    key = f"virtualenv-{spec.content_hash('virtualenv', version)}{_then_key(then_install)}"
    info = {"manager": "virtualenv", "python": version, "source": source}

    def build_venv(path: Path) -> None:
        _run_logged([interpreter, "-m", "venv", str(path)], progress, "python -m venv")
        python = str(path / "bin" / "python")
        for deps in (spec.build_dependencies, spec.dependencies):
            if deps:
                args = [python, "-m", "pip", "install", "--disable-pip-version-check", *pip_arguments(spec_dir, deps)]
                _run_logged(args, progress, "pip install")
        if then_install:
            _run_logged([python, "-m", "pip", "install", "--disable-pip-version-check", *then_install], progress,
                        "pip install")  # fmt: skip

    path, reused = _obtain(cache, key, info, build_venv, progress, manager, version)
    return Environment("virtualenv", path, reused, fell_back)


def _obtain(
    cache: EnvCache,
    key: str,
    info: dict[str, str],
    build: Callable[[Path], None],
    progress: Progress,
    manager: str,
    python: str,
) -> tuple[Path, bool]:
    def announced(path: Path) -> None:
        progress(f"Creating {manager} environment {key} (Python {python}); later runs reuse it")
        build(path)

    path, reused = cache.obtain(key, info, announced, progress)
    if reused:
        progress(f"Reusing {manager} environment {key} ({path})")
    return path, reused


def _prepare_conda(
    project: Project, cache: EnvCache, progress: Progress, then_install: tuple[str, ...] = ()
) -> Environment:
    """conda/mamba from PATH; without either, an error that says so (nothing is installed for you)."""
    conda = shutil.which("mamba") or shutil.which("conda")
    if conda is None:
        raise InvalidState(
            "env_manager 'conda' needs conda or mamba on PATH, and neither was found; install Miniforge, "
            "or run with --env-manager uv|virtualenv (a python_env.yaml) or --env-manager local"
        )
    if project.conda_env is None:
        raise InvalidInput("env_manager 'conda' needs a conda_env (conda.yaml) in the project")
    conda_file = project.conda_env
    spec = PythonEnvSpec(python="conda", source_text=conda_file.read_text())
    key = f"conda-{spec.content_hash('conda', Path(conda).name)}{_then_key(then_install)}"

    def build(path: Path) -> None:
        args = [conda, "env", "create", "--quiet", "--prefix", str(path), "--file", str(conda_file)]
        _run_logged(args, progress, f"{Path(conda).name} env create")
        if then_install:
            args = [str(path / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", *then_install]
            _run_logged(args, progress, "pip install")

    path, reused = _obtain(cache, key, {"manager": "conda", "source": str(conda_file)}, build, progress, "conda", "")
    return Environment("conda", path, reused)


__all__ = ["ENV_MANAGERS", "Environment", "choose_manager", "find_python", "find_uv", "prepare"]
