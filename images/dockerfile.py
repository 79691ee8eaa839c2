"""Render an `ImageSpec` to Dockerfile text: pure (no I/O, no Docker), so it is tested without an engine.

NOTE: the output must build with the classic builder (docker-py has no BuildKit): no `# syntax=`
line, no `RUN --mount`, no heredocs. Multi-stage builds and `COPY --from` are classic features.

Quoting, because model names, versions, URIs and user labels end up in the file:
- `ENV` and `LABEL` values are double-quoted; inside, Docker's word processing treats `\\`, `"`
  and `$` specially, so each is escaped with a backslash (`$` would otherwise expand a variable).
- `ENTRYPOINT`, `HEALTHCHECK CMD` and `COPY` use the exec/JSON form, written with `json.dumps`.
- Values are single lines (checked by the spec): a newline cannot be quoted in a Dockerfile.
"""

from __future__ import annotations

import json
import posixpath
import shlex
from collections.abc import Mapping

from shipyard.images.spec import (
    CONTEXT_CA_CERTS,
    CONTEXT_DEPS,
    CONTEXT_REQUIREMENTS,
    CONTEXT_SERVE_REQUIREMENTS,
    CONTEXT_SLIM_SCRIPT,
    HOME_DIR,
    MODEL_DIR,
    PORT,
    USER_ID,
    USER_NAME,
    VENV_DIR,
    ImageSpec,
)
from shipyard.version import __version__

DEPS_DIR = "/tmp/shipyard-deps"
CA_DIR = "/usr/local/share/ca-certificates/shipyard"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
HEALTH_URL = f"http://127.0.0.1:{PORT}/health"

# Readiness probe with the standard library only: the slim base images have no curl or wget.
_HEALTH_PY = (
    f"import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('{HEALTH_URL}', timeout=3).status == 200 else 1)"
)


def quote_value(value: str) -> str:
    """A double-quoted Dockerfile word whose content Docker reads back as exactly `value`."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'"{escaped}"'


def json_form(args: list[str]) -> str:
    """The exec form (`["a", "b"]`): no shell, no variable expansion; PID 1 is the program itself."""
    return json.dumps(args, ensure_ascii=False)


def _key_values(instruction: str, items: Mapping[str, str], *, quote_keys: bool) -> list[str]:
    """One instruction (one history entry) with a `KEY="value"` per continued line, sorted."""
    if not items:
        return []
    parts = [f"{quote_value(k) if quote_keys else k}={quote_value(v)}" for k, v in sorted(items.items())]
    lines = [f"{instruction} {parts[0]}"]
    lines += [f"    {p}" for p in parts[1:]]
    return [" \\\n".join(lines)]


def _base_stage(spec: ImageSpec) -> list[str]:
    lines = [f"FROM {spec.base_image} AS base"]
    if spec.ca_cert_files:
        lines += [
            "# Extra CA certificates (--ca-cert): trusted by pip at build time and by the server.",
            f"COPY {json_form([CONTEXT_CA_CERTS + '/', CA_DIR + '/'])}",
            "RUN update-ca-certificates",
            *_key_values(
                "ENV",
                {"PIP_CERT": CA_BUNDLE, "REQUESTS_CA_BUNDLE": CA_BUNDLE, "SSL_CERT_FILE": CA_BUNDLE},
                quote_keys=False,
            ),
        ]
    if spec.system_packages:
        apt = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *spec.system_packages]
        lines += [
            "# Shared libraries the model's framework links against (needs the build's network).",
            f"RUN apt-get update -qq && {shlex.join(apt)} && rm -rf /var/lib/apt/lists/*",
        ]
    return lines


def _in_deps_dir(context_path: str) -> str:
    """Where a file of the context's `deps/` folder lands in the build stage."""
    return posixpath.join(DEPS_DIR, posixpath.relpath(context_path, CONTEXT_DEPS))


def _deps_stage(spec: ImageSpec) -> list[str]:
    pip = ["python3", "-m", "pip", "--python", f"{VENV_DIR}/bin/python", "install"]
    if spec.wheelhouse:
        pip += ["--no-index", "--find-links", f"{DEPS_DIR}/wheels"]
    deps = pip + ["-r", _in_deps_dir(CONTEXT_REQUIREMENTS), "-r", _in_deps_dir(CONTEXT_SERVE_REQUIREMENTS)]
    shipyard = pip + ["--no-deps", f"{DEPS_DIR}/wheels/{spec.shipyard_wheel}"]
    lines = [
        "# Python dependencies: the model's pinned requirements plus Shipyard, in a virtual",
        "# environment. Shipyard comes without its own dependencies (tracking, registry, docker):",
        "# only those of its `serve` extra, listed in serve-requirements.txt from the wheel.",
        "# Only this stage's result is copied on, so wheels and pip stay behind.",
        "# slim.py drops what serving never reads: packages' test suites (about 100 MB), Cython",
        "# sources and type stubs, and shared libraries' symbol tables (`strip`, about 25 MB).",
        "FROM base AS deps",
        *[f"ARG {name}" for name in spec.build_arg_names],
        *_key_values(
            "ENV",
            {
                "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                "PIP_NO_CACHE_DIR": "1",
                "PIP_ROOT_USER_ACTION": "ignore",
            },
            quote_keys=False,
        ),
        f"COPY {json_form([CONTEXT_DEPS + '/', DEPS_DIR + '/'])}",
        f"RUN python3 -m venv --without-pip {VENV_DIR} \\\n && {shlex.join(deps)} \\\n"
        f" && {shlex.join(shipyard)} \\\n"
        f" && python3 {_in_deps_dir(CONTEXT_SLIM_SCRIPT)} {VENV_DIR}",
    ]
    return lines


def _final_stage(spec: ImageSpec) -> list[str]:
    useradd = [
        "useradd", "--system", "--uid", str(USER_ID), "--user-group", "--create-home",
        "--home-dir", HOME_DIR, "--shell", "/usr/sbin/nologin", USER_NAME,
    ]  # fmt: skip
    env = {
        "HOME": HOME_DIR,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        **spec.env,
    }
    entrypoint = [
        f"{VENV_DIR}/bin/shipyard", "serve", "-m", MODEL_DIR, "-h", "0.0.0.0", "-p", str(PORT),
    ]  # fmt: skip
    return [
        "FROM base",
        f"RUN {shlex.join(useradd)}",
        f"COPY --from=deps {json_form([VENV_DIR, VENV_DIR])}",
        f"ENV PATH={VENV_DIR}/bin:$PATH",
        *_key_values("ENV", env, quote_keys=False),
        "# The model files: the only layer that changes between versions of a model.",
        f"COPY {json_form(['model/', MODEL_DIR + '/'])}",
        *_key_values("ENV", spec.model_env, quote_keys=False),
        f"USER {USER_ID}:{USER_ID}",
        f"WORKDIR {HOME_DIR}",
        f"EXPOSE {PORT}",
        "STOPSIGNAL SIGTERM",
        "HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \\\n"
        f"    CMD {json_form([f'{VENV_DIR}/bin/python', '-c', _HEALTH_PY])}",
        f"ENTRYPOINT {json_form(entrypoint)}",
        *_key_values("LABEL", spec.labels, quote_keys=True),
    ]


def render_dockerfile(spec: ImageSpec) -> str:
    """The Dockerfile text for `spec`; the same spec always gives the same bytes."""
    header = [
        f"# Generated by Shipyard {__version__} (shipyard build-docker / generate-dockerfile).",
        "# Builds with the classic builder or BuildKit, from the directory holding this file:",
        "#   docker build -t NAME:TAG .",
    ]
    if spec.gpu:
        header.append("# GPU image: run with `docker run --gpus all` (NVIDIA container toolkit).")
    blocks = [header + _base_stage(spec), _deps_stage(spec), _final_stage(spec)]
    return "\n\n".join("\n".join(block) for block in blocks) + "\n"


__all__ = ["json_form", "quote_value", "render_dockerfile"]
