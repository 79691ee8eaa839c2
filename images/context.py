"""Write a build context: Dockerfile, the dependency inputs, CA certificates, the model files.

NOTE: the dependency layer is reused from the builder's cache only when the files feeding it are
byte-identical between builds (the classic builder keys `COPY` on file contents and modes, not
mtimes). So the requirements file is written in one canonical form, every file gets a fixed mode,
and Shipyard's wheel is built with a fixed SOURCE_DATE_EPOCH (reproducible zip timestamps).
"""

from __future__ import annotations

import contextlib
import email.parser
import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import yaml

from shipyard.exceptions import InvalidInput, ResourceNotFound, ShipyardError
from shipyard.flavors.environment import PYTHON_ENV_FILE, REQUIREMENTS_FILE
from shipyard.images import slim
from shipyard.images.dockerfile import render_dockerfile
from shipyard.images.spec import (
    CONTEXT_CA_CERTS,
    CONTEXT_MODEL,
    CONTEXT_REQUIREMENTS,
    CONTEXT_SERVE_REQUIREMENTS,
    CONTEXT_SLIM_SCRIPT,
    CONTEXT_WHEELS,
    SYSTEM_PACKAGES,
    BuildOptions,
    ImageSpec,
    ModelSource,
    make_spec,
)
from shipyard.registry.digest import compute_digest, digest_hex
from shipyard.version import __version__

Log = Callable[[str], None]

# Served by Shipyard itself, so never installed from the model's requirements.
SERVED_BY_SHIPYARD = {"shipyard", "mlflow", "mlflow-skinny"}
SOURCE_DATE_EPOCH = "315532800"  # 1980-01-01, the earliest time a zip entry can carry
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
# The extra (pyproject's optional-dependencies) whose requirements an image installs.
SERVE_EXTRA = "serve"
# `req; extra == "x"` or `req; <marker> and extra == "x"`, as setuptools writes Requires-Dist.
_EXTRA_CLAUSE = re.compile(
    r"(?P<req>[^;]+?)\s*;\s*(?:(?P<marker>.+?)\s+and\s+)?extra\s*==\s*[\"'](?P<extra>[^\"']+)[\"']"
)


def _nolog(_: str) -> None:
    pass


def canonical_name(name: str) -> str:
    """PEP 503 normalised distribution name (`Scikit_Learn` -> `scikit-learn`)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def model_requirements(model_dir: Path) -> list[str]:
    """The model's pip requirements, minus what Shipyard itself serves (Shipyard, MLflow).

    `requirements.txt` wins; else `python_env.yaml`'s dependencies. Lines that point at other
    files (`-r`, `-c`, `-e`) are refused: those files are not part of the image.
    """
    req_file = model_dir / REQUIREMENTS_FILE
    if req_file.is_file():
        lines = req_file.read_text().splitlines()
    elif (model_dir / PYTHON_ENV_FILE).is_file():
        env = yaml.safe_load((model_dir / PYTHON_ENV_FILE).read_text()) or {}
        lines = [str(d) for d in env.get("dependencies") or []]
    else:
        lines = []
    out: list[str] = []
    for raw in lines:
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r", "-c", "-e", "--requirement", "--constraint", "--editable")):
            if line == f"-r {REQUIREMENTS_FILE}":
                continue
            raise InvalidInput(
                f"{model_dir / REQUIREMENTS_FILE}: line {line!r} refers to another file; "
                "an image can only install requirements listed in the model's own file"
            )
        match = _NAME.match(line)
        if match and canonical_name(match.group(1)) in SERVED_BY_SHIPYARD:
            continue
        out.append(line)
    return list(dict.fromkeys(out))


def system_packages(requirements: list[str]) -> tuple[str, ...]:
    """The Debian packages the requirements' wheels need (SYSTEM_PACKAGES), sorted."""
    names = {canonical_name(m.group(1)) for m in map(_NAME.match, requirements) if m}
    return tuple(sorted({pkg for name in names for pkg in SYSTEM_PACKAGES.get(name, ())}))


def _write(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    path.chmod(0o644)


def _fix_modes(root: Path) -> None:
    """0755 directories, 0644 files: the builder's cache key includes modes."""
    for dirpath, _dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o755)
        for f in filenames:
            os.chmod(os.path.join(dirpath, f), 0o644)


def _run(cmd: list[str], *, what: str, log: Log, env: dict[str, str] | None = None) -> None:
    """Run a pip command, streaming its lines to `log`; a failure names the command."""
    # NOTE: cwd is a temporary directory: run from the repository root, `python -m` would put the
    # root's sklearn.py/onnx.py ahead of the real libraries.
    with tempfile.TemporaryDirectory(prefix="shipyard-pip-") as cwd:
        tail: list[str] = []
        with subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                line = line.rstrip()
                tail = (tail + [line])[-20:]
                log(line)
        if proc.returncode != 0:
            raise ShipyardError(f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n" + "\n".join(tail))


def shipyard_source_dir() -> Path | None:
    """The source tree of the running Shipyard (repository root = package), or None if installed."""
    root = Path(__file__).resolve().parents[1]  # NOTE: images/ sits at the package root
    return root if (root / "pyproject.toml").is_file() else None


def stage_source(src: Path, dst: Path) -> None:
    """Copy only what the wheel is made of: root files plus package directories.

    NOTE: building in the checkout itself would reuse a stale `build/lib` (deleted modules would
    ship) and pick up whatever else lies at the root (model folders, databases).
    """
    dst.mkdir(parents=True)
    keep_suffixes = {".py", ".toml", ".md", ".typed", ".cfg", ".txt", ".in"}
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for entry in sorted(src.iterdir()):
        if entry.name.startswith(".") or entry.name in {"tests", "build", "dist"}:
            continue
        if entry.is_file() and (entry.suffix in keep_suffixes or entry.name.startswith("LICENSE")):
            shutil.copy2(entry, dst / entry.name)
        elif entry.is_dir() and (entry / "__init__.py").is_file():
            shutil.copytree(entry, dst / entry.name, ignore=ignore)


def can_build_wheels_here() -> bool:
    """True when this interpreter's setuptools can build a wheel without fetching anything.

    NOTE: setuptools builds wheels by itself only from 70.1; older ones need the `wheel` package
    (a fresh Python 3.11 venv has setuptools 65 and no `wheel`). Otherwise pip's isolated build
    fetches a current setuptools from the index.
    """
    if importlib.util.find_spec("setuptools") is None:
        return False
    if importlib.util.find_spec("wheel") is not None:
        return True
    major, minor = (int(p) for p in re.findall(r"\d+", importlib.metadata.version("setuptools"))[:2])
    return (major, minor) >= (70, 1)


def build_shipyard_wheel(
    dest: Path, *, source: Path | None = None, cache_dir: Path | None = None, log: Log = _nolog
) -> Path:
    """A reproducible wheel of Shipyard in `dest` (same source -> same bytes).

    `source` defaults to the tree of the running Shipyard; an installed (non-source) Shipyard is
    downloaded at its own version with the host's pip settings instead. With `cache_dir`, a wheel
    is kept per content digest of the source, so unchanged sources skip the build (seconds when
    pip has to fetch a build backend).
    """
    dest.mkdir(parents=True, exist_ok=True)
    src = source or shipyard_source_dir()
    env = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH}
    if src is None:
        _run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(dest),
             f"shipyard=={__version__}"],
            what="downloading Shipyard's wheel", log=log, env=env,
        )  # fmt: skip
        return _the_wheel(dest)
    with tempfile.TemporaryDirectory(prefix="shipyard-src-") as tmp:
        staged = Path(tmp) / "src"
        stage_source(src, staged)
        cached = cache_dir / digest_hex(compute_digest(staged)) if cache_dir else None
        if cached is not None and list(cached.glob("shipyard-*.whl")):
            wheel = _the_wheel(cached)
            shutil.copyfile(wheel, dest / wheel.name)
            return _the_wheel(dest)
        out = Path(tmp) / "out"
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out)]
        if can_build_wheels_here():
            cmd.append("--no-build-isolation")  # no index needed for the build backend
        _run(cmd + [str(staged)], what="building Shipyard's wheel", log=_nolog, env=env)
        wheel = _the_wheel(out)
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = Path(tempfile.mkdtemp(prefix=".partial-", dir=cached.parent))
            shutil.copyfile(wheel, partial / wheel.name)
            with contextlib.suppress(OSError):  # NOTE: a concurrent build may have won the race
                partial.rename(cached)
            shutil.rmtree(partial, ignore_errors=True)
        shutil.copyfile(wheel, dest / wheel.name)
    return _the_wheel(dest)


def _the_wheel(folder: Path) -> Path:
    wheels = sorted(folder.glob("shipyard-*.whl"))
    if not wheels:
        raise ShipyardError(f"no Shipyard wheel was written to {folder}")
    wheels[-1].chmod(0o644)
    return wheels[-1]


def serve_requirements(wheel: Path, extra: str = SERVE_EXTRA) -> list[str]:
    """The requirements of the wheel's `serve` extra, read from its METADATA (the one list).

    Each `Requires-Dist: name>=1; [marker and ]extra == "serve"` becomes `name>=1[; marker]`: pip
    reads `-r` files with no extra selected, so the extra's own clause has to go.
    """
    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
        if not names:
            raise ShipyardError(f"{wheel.name} has no .dist-info/METADATA; is it a wheel?")
        metadata = email.parser.HeaderParser().parsestr(zf.read(names[0]).decode())
    out: list[str] = []
    for line in metadata.get_all("Requires-Dist") or []:
        match = _EXTRA_CLAUSE.fullmatch(line.strip())
        if match and canonical_name(match.group("extra")) == extra:
            out.append(match.group("req") + (f"; {match.group('marker')}" if match.group("marker") else ""))
    if not out:
        raise ShipyardError(
            f"{wheel.name} declares no {extra!r} extra, so the image cannot install only what "
            "serving needs; use a Shipyard wheel of this version or later"
        )
    return out


def download_wheelhouse(requirement_files: list[Path], dest: Path, *, log: Log) -> None:
    """Every dependency as a wheel in `dest`, fetched on the host with the host's pip settings."""
    files = [arg for f in requirement_files for arg in ("-r", str(f))]
    _run(
        [sys.executable, "-m", "pip", "wheel", "--progress-bar", "off", "-w", str(dest), *files],
        what="downloading the wheelhouse", log=log,
    )  # fmt: skip
    _fix_modes(dest)


def copy_ca_certs(certs: tuple[Path, ...], dest: Path) -> tuple[str, ...]:
    """PEM certificates under names `update-ca-certificates` picks up (`*.crt`)."""
    names: list[str] = []
    for i, cert in enumerate(certs):
        if not cert.is_file():
            raise ResourceNotFound(f"--ca-cert {str(cert)!r}: no such file")
        data = cert.read_bytes()
        if b"-----BEGIN CERTIFICATE-----" not in data:
            raise InvalidInput(f"--ca-cert {str(cert)!r} is not a PEM certificate (BEGIN CERTIFICATE)")
        stem = re.sub(r"[^A-Za-z0-9._-]", "_", cert.stem) or "cert"
        name = f"{i:02d}-{stem}.crt"
        _write(dest / name, data)
        names.append(name)
    return tuple(names)


def write_context(
    model: ModelSource, options: BuildOptions, dest: Path, *, wheel_cache: Path | None = None,
    shipyard_wheel: Path | None = None, log: Log = _nolog,
) -> ImageSpec:  # fmt: skip
    """Fill the empty directory `dest` with a complete build context; returns the spec rendered.

    `shipyard_wheel` installs that wheel of Shipyard instead of one built from the running source.
    """
    model_dir = Path(model.local_path)
    if dest.exists() and any(dest.iterdir()):
        raise InvalidInput(f"context directory {str(dest)!r} is not empty; pass a new or empty one")
    dest.mkdir(parents=True, exist_ok=True)
    requirements = model_requirements(model_dir)
    _write(dest / CONTEXT_REQUIREMENTS, "".join(f"{r}\n" for r in requirements))
    if shipyard_wheel is not None:
        (dest / CONTEXT_WHEELS).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shipyard_wheel, dest / CONTEXT_WHEELS / shipyard_wheel.name)
        wheel = _the_wheel(dest / CONTEXT_WHEELS)
    else:
        log("building Shipyard's wheel")
        wheel = build_shipyard_wheel(dest / CONTEXT_WHEELS, cache_dir=wheel_cache, log=log)
    _write(dest / CONTEXT_SERVE_REQUIREMENTS, "".join(f"{r}\n" for r in serve_requirements(wheel)))
    if options.wheelhouse:
        log("downloading every dependency as a wheel (--wheelhouse)")
        download_wheelhouse(
            [dest / CONTEXT_REQUIREMENTS, dest / CONTEXT_SERVE_REQUIREMENTS],
            dest / CONTEXT_WHEELS,
            log=log,
        )
    # Run by the base image's Python, so the copy of the module is the script (stdlib only).
    _write(dest / CONTEXT_SLIM_SCRIPT, Path(slim.__file__).read_bytes())
    ca_files = copy_ca_certs(options.ca_certs, dest / CONTEXT_CA_CERTS)
    shutil.copytree(model_dir, dest / CONTEXT_MODEL)
    spec = make_spec(
        model, options, shipyard_wheel=wheel.name, shipyard_version=__version__,
        ca_cert_files=ca_files, system_packages=system_packages(requirements),
    )  # fmt: skip
    _write(dest / "Dockerfile", render_dockerfile(spec))
    _fix_modes(dest)  # whatever the umask, the same modes on every machine
    return spec


__all__ = [
    "build_shipyard_wheel",
    "canonical_name",
    "copy_ca_certs",
    "download_wheelhouse",
    "model_requirements",
    "serve_requirements",
    "shipyard_source_dir",
    "stage_source",
    "system_packages",
    "write_context",
]
