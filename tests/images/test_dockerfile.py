"""The Dockerfile renderer, with no engine: stages, cache order, quoting, classic-builder syntax."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipyard.exceptions import InvalidInput
from shipyard.images.dockerfile import quote_value, render_dockerfile
from shipyard.images.spec import BuildOptions, ImageSpec, make_spec, parse_key_values
from shipyard.registry.uris import ResolvedModel

WHEEL = "shipyard-0.1.0-py3-none-any.whl"


def docker_unquote(word: str) -> str:
    """Docker's reading of a double-quoted ENV/LABEL word (moby shell lexer: `\\` escapes `"`,
    `$` and `\\` inside double quotes and is kept before anything else)."""
    assert word.startswith('"') and word.endswith('"')
    body, out, i = word[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body) and body[i + 1] in '"$\\':
            out.append(body[i + 1])
            i += 2
            continue
        assert ch != '"', f"unescaped quote in {word!r}"
        assert ch != "$" or (i > 0 and body[i - 1] == "\\"), f"unescaped $ in {word!r}"
        out.append(ch)
        i += 1
    return "".join(out)


def model(**kw: object) -> ResolvedModel:
    fields: dict[str, object] = {
        "uri": "models:/iris/3", "local_path": Path("/tmp/iris"), "name": "iris", "version": 3,
        "digest": "sha256:" + "ab" * 32, "run_id": "0123abcd", "source_uri": "file:///store/iris/3",
    }  # fmt: skip
    fields.update(kw)
    return ResolvedModel(**fields)  # type: ignore[arg-type]


def render(options: BuildOptions | None = None, **kw: object) -> str:
    spec = make_spec(model(**kw), options or BuildOptions(), shipyard_wheel=WHEEL, shipyard_version="0.1.0")
    return render_dockerfile(spec)


def instructions(text: str) -> list[str]:
    """Logical instruction lines: continuations joined, comments and blanks dropped."""
    joined = re.sub(r"\\\n", " ", text)
    return [ln for ln in joined.splitlines() if ln.strip() and not ln.startswith("#")]


def test_three_stages_in_cache_order() -> None:
    lines = instructions(render())
    froms = [ln for ln in lines if ln.startswith("FROM ")]
    assert froms == ["FROM python:3.11-slim AS base", "FROM base AS deps", "FROM base"]
    final = lines[lines.index("FROM base") :]
    kinds = [ln.split()[0] for ln in final]
    # base -> dependency layer -> model files; metadata after the model layer, labels last.
    copy_deps = next(i for i, ln in enumerate(final) if ln.startswith("COPY --from=deps"))
    copy_model = next(i for i, ln in enumerate(final) if '"model/"' in ln)
    assert copy_deps < copy_model
    assert kinds[-1] == "LABEL"
    assert [k for k in kinds if k in ("RUN", "COPY")] == ["RUN", "COPY", "COPY"]


def test_dependency_stage_is_the_same_for_every_version_of_a_model() -> None:
    def deps_stage(text: str) -> str:
        return text[text.index("FROM base AS deps") : text.index("\nFROM base\n")]

    v3 = render(version=3, digest="sha256:" + "ab" * 32)
    v4 = render(version=4, digest="sha256:" + "cd" * 32, run_id="ffff")
    assert deps_stage(v3) == deps_stage(v4)
    before_model = lambda t: t[: t.index('COPY ["model/"')]  # noqa: E731
    assert before_model(v3) == before_model(v4)
    assert v3 != v4


def test_classic_builder_syntax_only() -> None:
    text = render(BuildOptions(wheelhouse=True, ca_certs=(Path("x.crt"),), gpu=True))
    assert "# syntax" not in text
    assert "--mount" not in text
    assert "<<" not in text


def test_container_contract() -> None:
    lines = instructions(render())
    final = lines[lines.index("FROM base") :]
    assert "USER 10001:10001" in final
    assert "EXPOSE 8080" in final
    assert "STOPSIGNAL SIGTERM" in final
    entry = next(ln for ln in final if ln.startswith("ENTRYPOINT "))
    assert json.loads(entry.removeprefix("ENTRYPOINT ")) == [
        "/opt/shipyard/bin/shipyard", "serve", "-m", "/opt/ml/model", "-h", "0.0.0.0", "-p", "8080",
    ]  # fmt: skip
    health = next(ln for ln in final if ln.startswith("HEALTHCHECK "))
    cmd = json.loads(health[health.index("CMD ") + 4 :])
    assert cmd[:2] == ["/opt/shipyard/bin/python", "-c"]
    compile(cmd[2], "<healthcheck>", "exec")
    assert "http://127.0.0.1:8080/health" in cmd[2]


def env_of(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for ln in instructions(text):
        if ln.startswith("ENV ") and "PATH=" not in ln:
            for key, word in re.findall(r'([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*")', ln):
                out[key] = docker_unquote(word)
    return out


def labels_of(text: str) -> dict[str, str]:
    label = next(ln for ln in instructions(text) if ln.startswith("LABEL "))
    pairs = re.findall(r'("(?:[^"\\]|\\.)*")=("(?:[^"\\]|\\.)*")', label)
    return {docker_unquote(k): docker_unquote(v) for k, v in pairs}


def test_labels_record_the_model_version() -> None:
    labels = labels_of(render(BuildOptions(labels={"team": "fraud"})))
    assert labels["shipyard.model.name"] == "iris"
    assert labels["shipyard.model.version"] == "3"
    assert labels["shipyard.model.digest"] == "sha256:" + "ab" * 32
    assert labels["shipyard.model.run_id"] == "0123abcd"
    assert labels["shipyard.model.source_uri"] == "file:///store/iris/3"
    assert labels["shipyard.model.uri"] == "models:/iris/3"
    assert labels["org.opencontainers.image.title"] == "iris"
    assert labels["org.opencontainers.image.version"] == "3"
    assert labels["org.opencontainers.image.base.name"] == "python:3.11-slim"
    assert labels["team"] == "fraud"


def test_serve_knobs_are_env_defaults_and_the_model_is_named() -> None:
    env = env_of(render())
    assert env["SHIPYARD_WORKERS"] == "1"
    assert env["SHIPYARD_MAX_BATCH_SIZE"] == "256"
    assert {"SHIPYARD_MAX_BATCH_DELAY_MS", "SHIPYARD_TIMEOUT"} <= env.keys()
    assert env["SHIPYARD_NAME"] == "iris"


@given(st.text(st.characters(blacklist_characters="\n\r\0", blacklist_categories=("Cs",))))
def test_quoted_values_read_back_exactly(value: str) -> None:
    assert docker_unquote(quote_value(value)) == value


def test_awkward_label_values_survive_rendering() -> None:
    awkward = 'a "quoted" $HOME ${PATH} back\\slash \\" end\\'
    labels = labels_of(render(BuildOptions(labels={"note": awkward}), name='we"ird $name'))
    assert labels["note"] == awkward
    assert labels["shipyard.model.name"] == 'we"ird $name'
    assert env_of(render(name='we"ird $name'))["SHIPYARD_NAME"] == 'we"ird $name'


def test_wheelhouse_installs_without_an_index() -> None:
    plain = render()
    offline = render(BuildOptions(wheelhouse=True))
    assert "--no-index" not in plain
    run = next(ln for ln in instructions(offline) if ln.startswith("RUN python3 -m venv"))
    assert "--no-index --find-links /tmp/shipyard-deps/wheels" in run
    assert f"/tmp/shipyard-deps/wheels/{WHEEL}" in run
    assert run.count("--no-index --find-links /tmp/shipyard-deps/wheels") == 2


def test_shipyard_is_installed_without_its_dependencies_plus_the_serve_list() -> None:
    run = next(ln for ln in instructions(render()) if ln.startswith("RUN python3 -m venv"))
    assert "install -r /tmp/shipyard-deps/requirements.txt -r /tmp/shipyard-deps/serve-requirements.txt" in run
    assert f"install --no-deps /tmp/shipyard-deps/wheels/{WHEEL}" in run
    # ... then slims the environment, in the same layer (what it removes never lands in one).
    assert run.endswith("&& python3 /tmp/shipyard-deps/slim.py /opt/shipyard")


def test_ca_certs_reach_the_trust_store_in_both_stages() -> None:
    spec = make_spec(
        model(), BuildOptions(), shipyard_wheel=WHEEL, shipyard_version="0.1.0",
        ca_cert_files=("00-corp.crt",),
    )  # fmt: skip
    lines = instructions(render_dockerfile(spec))
    base = lines[: lines.index("FROM base AS deps")]
    assert 'COPY ["ca-certificates/", "/usr/local/share/ca-certificates/shipyard/"]' in base
    assert "RUN update-ca-certificates" in base
    assert "update-ca-certificates" not in render()


def test_build_args_are_declared_in_the_dependency_stage() -> None:
    lines = instructions(render(BuildOptions(build_args={"HTTPS_PROXY_X": "http://p:3128"})))
    deps = lines[lines.index("FROM base AS deps") : lines.index("FROM base")]
    assert "ARG HTTPS_PROXY_X" in deps
    assert "ARG PIP_INDEX_URL" in deps
    assert "http://p:3128" not in "\n".join(lines)  # values stay out of the file


def test_gpu_marks_the_image() -> None:
    text = render(BuildOptions(gpu=True))
    assert env_of(text)["NVIDIA_VISIBLE_DEVICES"] == "all"
    assert labels_of(text)["shipyard.gpu"] == "true"
    assert "NVIDIA_VISIBLE_DEVICES" not in render()


def test_rendering_is_deterministic() -> None:
    options = BuildOptions(labels={"b": "2", "a": "1"})
    assert render(options) == render(options)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"base_image": "python:3.11 AS evil"}, "base_image"),
        ({"base_image": "python:3.11\nRUN rm -rf /"}, "base_image"),
        ({"labels": {"bad key": "v"}}, "label key"),
        ({"labels": {"k": "two\nlines"}}, "label k"),
        ({"env": {"1BAD": "v"}}, "env name"),
        ({"build_arg_names": ("A-B",)}, "build_arg name"),
    ],
)
def test_spec_refuses_what_cannot_be_quoted(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"base_image": "python:3.11-slim", "shipyard_wheel": WHEEL}
    args.update(kwargs)
    with pytest.raises(InvalidInput, match=field):
        ImageSpec(**args)  # type: ignore[arg-type]


def test_key_value_flags() -> None:
    assert parse_key_values("--label", ["a=b=c", "d="]) == {"a": "b=c", "d": ""}
    with pytest.raises(InvalidInput, match="--build-arg 'nope' is not KEY=VALUE"):
        parse_key_values("--build-arg", ["nope"])
