"""What goes into a model's image, as plain checked data: the renderer and the build only read it.

The image is three parts, in cache order: the base image; one Python dependency layer (the model's
pinned requirements plus a wheel of Shipyard itself with only serving's dependencies, its `serve`
extra, installed into a virtual environment in a build stage and copied over); the model files.
Everything model-specific that is not a file (labels) comes last, so a new version of a model with
the same requirements rebuilds only its model-file layer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from shipyard.exceptions import InvalidInput
from shipyard.runtime.settings import ServeSettings

DEFAULT_BASE_IMAGE = "python:3.11-slim"
MODEL_DIR = "/opt/ml/model"
VENV_DIR = "/opt/shipyard"
HOME_DIR = "/home/shipyard"
PORT = 8080
USER_NAME = "shipyard"
USER_ID = 10001

# Context layout (relative to the context root); the renderer and the context writer share it.
CONTEXT_DEPS = "deps"
CONTEXT_WHEELS = "deps/wheels"
CONTEXT_REQUIREMENTS = "deps/requirements.txt"
CONTEXT_SERVE_REQUIREMENTS = "deps/serve-requirements.txt"
CONTEXT_SLIM_SCRIPT = "deps/slim.py"  # images/slim.py, run in the dependency stage
CONTEXT_CA_CERTS = "ca-certificates"
CONTEXT_MODEL = "model"

# Shared libraries a framework's wheel links against but does not bundle, as Debian packages the
# image installs (keyed by canonical distribution name). NOTE: installing them needs the build's
# network (apt), so an offline --wheelhouse build of such a model fails at that step.
SYSTEM_PACKAGES: Mapping[str, tuple[str, ...]] = {"lightgbm": ("libgomp1",)}

# Build args every generated Dockerfile declares in its dependency stage, so a private index or a
# proxy can be named at build time without editing the file (pip reads them from the environment).
PIP_BUILD_ARGS = ("PIP_EXTRA_INDEX_URL", "PIP_INDEX_URL", "PIP_TRUSTED_HOST")

# Serving knobs baked into the image as environment variables with `serve`'s own defaults, so
# `docker inspect` lists them and `docker run -e SHIPYARD_WORKERS=2 ...` overrides them.
SERVE_ENV_KNOBS = ("log_level", "max_batch_delay_ms", "max_batch_size", "max_queue", "timeout", "workers")


def serve_env_defaults() -> dict[str, str]:
    """`SHIPYARD_<KNOB>` -> `serve`'s default, read from its settings class (one source of truth)."""
    fields = ServeSettings.model_fields
    return {
        f"SHIPYARD_{knob.upper()}": str(fields[knob].get_default(call_default_factory=True)) for knob in SERVE_ENV_KNOBS
    }


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LABEL_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
# Image references go into FROM unquoted (Dockerfile syntax has no quoting there).
_IMAGE_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@-]*$")


class ModelSource(Protocol):
    """What the image needs of the registry's `ResolvedModel`: files and identity for labels."""

    @property
    def uri(self) -> str: ...
    @property
    def local_path(self) -> Path: ...
    @property
    def name(self) -> str | None: ...
    @property
    def version(self) -> int | str | None: ...
    @property
    def digest(self) -> str | None: ...
    @property
    def run_id(self) -> str | None: ...
    @property
    def source_uri(self) -> str | None: ...


@dataclass(frozen=True)
class BuildOptions:
    """What the caller chose (CLI flags); checked by `make_spec`."""

    base_image: str | None = None
    wheelhouse: bool = False
    ca_certs: tuple[Path, ...] = ()
    build_args: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    gpu: bool = False


@dataclass(frozen=True)
class ImageSpec:
    """Everything the Dockerfile says, already validated; file names are relative to the context."""

    base_image: str
    shipyard_wheel: str
    wheelhouse: bool = False
    ca_cert_files: tuple[str, ...] = ()
    build_arg_names: tuple[str, ...] = PIP_BUILD_ARGS
    env: Mapping[str, str] = field(default_factory=dict)
    model_env: Mapping[str, str] = field(default_factory=dict)
    """Set after the model files (it names the model), so it never invalidates earlier layers."""
    labels: Mapping[str, str] = field(default_factory=dict)
    gpu: bool = False
    system_packages: tuple[str, ...] = ()
    """Debian packages installed into the base stage (see SYSTEM_PACKAGES)."""

    def __post_init__(self) -> None:
        check_image_ref("base_image", self.base_image)
        for name in self.system_packages:
            check_simple_name("system_packages", name)
        check_simple_name("shipyard_wheel", self.shipyard_wheel)
        for name in self.ca_cert_files:
            check_simple_name("ca_cert_files", name)
        for name in self.build_arg_names:
            check_env_name("build_arg", name)
        for key, value in {**self.env, **self.model_env}.items():
            check_env_name("env", key)
            check_single_line(f"env {key}", value)
        for key, value in self.labels.items():
            check_label_key(key)
            check_single_line(f"label {key}", value)


def check_env_name(what: str, name: str) -> None:
    if not _ENV_NAME.match(name):
        raise InvalidInput(f"{what} name {name!r} is not valid: use letters, digits and '_', not starting with a digit")


def check_label_key(key: str) -> None:
    if not _LABEL_KEY.match(key):
        raise InvalidInput(
            f"label key {key!r} is not valid: use letters, digits, '.', '_', '/' and '-' "
            "(reverse-DNS style, e.g. com.example.team)"
        )


def check_single_line(what: str, value: str) -> None:
    if "\n" in value or "\r" in value or "\0" in value:
        raise InvalidInput(f"{what} value must be one line (no newline or NUL characters)")


def check_image_ref(what: str, ref: str) -> None:
    if not _IMAGE_REF.match(ref):
        raise InvalidInput(
            f"{what} {ref!r} is not a valid image reference (e.g. python:3.11-slim, "
            "registry.example.com/team/python:3.11)"
        )


def check_simple_name(what: str, name: str) -> None:
    if not name or "/" in name or name in (".", "..") or not _LABEL_KEY.match(name.replace("+", "_")):
        raise InvalidInput(f"{what} file name {name!r} is not a plain file name")


def parse_key_values(what: str, pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """`K=V` strings from the command line to a dict; the value may contain '='."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidInput(f"{what} {pair!r} is not KEY=VALUE")
        out[key] = value
    return out


def model_labels(model: ModelSource, *, shipyard_version: str, base_image: str) -> dict[str, str]:
    """OCI labels plus `shipyard.model.*`: what a deployer reads to know which version is inside."""
    name = model.name or model.local_path.name
    labels = {
        "org.opencontainers.image.title": name,
        "org.opencontainers.image.description": f"Shipyard serving image for model {name}"
        + (f" version {model.version}" if model.version else ""),
        "org.opencontainers.image.base.name": base_image,
        "shipyard.version": shipyard_version,
        "shipyard.model.name": name,
        "shipyard.model.uri": model.uri,
    }
    if model.source_uri:
        labels["shipyard.model.source_uri"] = model.source_uri
    if model.version is not None:
        labels["org.opencontainers.image.version"] = str(model.version)
        labels["shipyard.model.version"] = str(model.version)
    if model.digest:
        labels["shipyard.model.digest"] = model.digest
    if model.run_id:
        labels["shipyard.model.run_id"] = model.run_id
    return labels


def make_spec(
    model: ModelSource,
    options: BuildOptions,
    *,
    shipyard_wheel: str,
    shipyard_version: str,
    ca_cert_files: tuple[str, ...] = (),
    system_packages: tuple[str, ...] = (),
) -> ImageSpec:
    """The image for one model: defaults, then the caller's labels on top of ours."""
    base = options.base_image or DEFAULT_BASE_IMAGE
    labels = model_labels(model, shipyard_version=shipyard_version, base_image=base)
    env = serve_env_defaults()
    if options.gpu:
        # NOTE: the NVIDIA container toolkit reads these; `docker run --gpus all` still decides.
        env["NVIDIA_VISIBLE_DEVICES"] = "all"
        env["NVIDIA_DRIVER_CAPABILITIES"] = "compute,utility"
        labels["shipyard.gpu"] = "true"
    labels.update(options.labels)
    arg_names = tuple(sorted(set(PIP_BUILD_ARGS) | set(options.build_args)))
    return ImageSpec(
        base_image=base,
        shipyard_wheel=shipyard_wheel,
        wheelhouse=options.wheelhouse,
        ca_cert_files=ca_cert_files,
        build_arg_names=arg_names,
        env=env,
        model_env={"SHIPYARD_NAME": model.name or Path(model.local_path).name},
        labels=labels,
        gpu=options.gpu,
        system_packages=system_packages,
    )


__all__ = [
    "BuildOptions",
    "DEFAULT_BASE_IMAGE",
    "ImageSpec",
    "SYSTEM_PACKAGES",
    "ModelSource",
    "check_env_name",
    "check_image_ref",
    "check_label_key",
    "check_simple_name",
    "check_single_line",
    "make_spec",
    "model_labels",
    "parse_key_values",
    "serve_env_defaults",
]
