"""The build context, with no engine: requirements, reproducible inputs to the dependency layer."""

from __future__ import annotations

import hashlib
import stat
import tomllib
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from shipyard.exceptions import InvalidInput, ResourceNotFound, ShipyardError
from shipyard.images import slim
from shipyard.images.context import (
    build_shipyard_wheel,
    canonical_name,
    copy_ca_certs,
    model_requirements,
    serve_requirements,
    shipyard_source_dir,
    stage_source,
    write_context,
)
from shipyard.images.source import resolve_model
from shipyard.images.spec import BuildOptions
from shipyard.registry.client import RegistryClient
from shipyard.settings import Settings

PEM = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def tree_digest(root: Path) -> dict[str, tuple[str, int]]:
    return {
        p.relative_to(root).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mode)
        for p in sorted(root.rglob("*")) if p.is_file()
    }  # fmt: skip


def test_requirements_drop_what_shipyard_serves(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(
        "mlflow==3.17.2\nshipyard==0.1.0\n# comment\nscikit-learn==1.9.1  # pinned\n"
        "Mlflow_Skinny==3.1\nnumpy==2.4.6\nnumpy==2.4.6\n\n"
    )
    assert model_requirements(tmp_path) == ["scikit-learn==1.9.1", "numpy==2.4.6"]


def test_requirements_from_python_env_when_no_requirements_file(tmp_path: Path) -> None:
    (tmp_path / "python_env.yaml").write_text("python: 3.11.7\ndependencies:\n- onnx==1.23.2\n")
    assert model_requirements(tmp_path) == ["onnx==1.23.2"]
    (tmp_path / "python_env.yaml").write_text("dependencies:\n- -r other.txt\n")
    with pytest.raises(InvalidInput, match="refers to another file"):
        model_requirements(tmp_path)


def pyproject() -> dict:
    source = shipyard_source_dir()
    assert source is not None, "tests run from a checkout"
    return tomllib.loads((source / "pyproject.toml").read_text())


def test_serve_extra_is_a_subset_of_the_core_dependencies() -> None:
    """The image installs Shipyard with --no-deps plus `serve`: never something core lacks."""
    project = pyproject()["project"]
    serve = project["optional-dependencies"]["serve"]
    assert serve and set(serve) <= set(project["dependencies"])
    names = {canonical_name(r.split(">")[0].split(";")[0]) for r in serve}
    assert {"sqlalchemy", "alembic", "docker", "requests"}.isdisjoint(names)


def test_serve_requirements_drop_only_the_extra_clause(tmp_path: Path) -> None:
    wheel = tmp_path / "shipyard-9.9-py3-none-any.whl"
    metadata = (
        "Metadata-Version: 2.1\nName: shipyard\nVersion: 9.9\n"
        "Requires-Dist: sqlalchemy>=2.0\n"
        'Requires-Dist: numpy>=1.24; extra == "serve"\n'
        'Requires-Dist: uvloop>=0.19; sys_platform != "win32" and extra == "serve"\n'
        'Requires-Dist: torch>=2.1; extra == "torch"\n'
    )
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("shipyard-9.9.dist-info/METADATA", metadata)
    assert serve_requirements(wheel) == ["numpy>=1.24", 'uvloop>=0.19; sys_platform != "win32"']
    with pytest.raises(ShipyardError, match="declares no 'gpu' extra"):
        serve_requirements(wheel, "gpu")


def test_shipyard_wheel_is_reproducible(tmp_path: Path) -> None:
    source = shipyard_source_dir()
    assert source is not None, "tests run from a checkout"
    stage_source(source, tmp_path / "src")  # a fixed copy: the checkout may change meanwhile
    cache = tmp_path / "cache"
    first = build_shipyard_wheel(tmp_path / "a", source=tmp_path / "src")
    second = build_shipyard_wheel(tmp_path / "b", source=tmp_path / "src", cache_dir=cache)
    third = build_shipyard_wheel(tmp_path / "c", source=tmp_path / "src", cache_dir=cache)
    assert first.name == second.name and first.name.startswith("shipyard-")
    assert first.read_bytes() == second.read_bytes() == third.read_bytes()  # built twice, cached
    assert len(list(cache.iterdir())) == 1  # one wheel per source digest
    assert serve_requirements(first) == [
        r.replace("'", '"') for r in pyproject()["project"]["optional-dependencies"]["serve"]
    ]
    (tmp_path / "src" / "version.py").write_text("# changed\n", encoding="utf-8")
    build_shipyard_wheel(tmp_path / "e", source=tmp_path / "src", cache_dir=cache)
    assert len(list(cache.iterdir())) == 2


def test_two_versions_feed_identical_bytes_to_the_dependency_layer(
    tmp_path: Path, iris_dir: Callable[..., Path]
) -> None:
    db = f"sqlite:///{tmp_path / 'shipyard.db'}"
    client = RegistryClient(tracking_uri=db)
    client.register_model(str(iris_dir("v1", c=1.0)), "iris")
    client.register_model(str(iris_dir("v2", c=0.5)), "iris")
    settings = Settings(tracking_uri=db)
    one = resolve_model("models:/iris/1", settings=settings)
    two = resolve_model("models:/iris/2", settings=settings)
    assert (one.name, one.version, two.version) == ("iris", 1, 2)
    assert one.digest and two.digest and one.digest != two.digest

    spec1 = write_context(one, BuildOptions(), tmp_path / "ctx1")
    spec2 = write_context(two, BuildOptions(), tmp_path / "ctx2")
    deps1, deps2 = tree_digest(tmp_path / "ctx1/deps"), tree_digest(tmp_path / "ctx2/deps")
    assert deps1 == deps2
    assert "requirements.txt" in deps1 and spec1.shipyard_wheel == spec2.shipyard_wheel
    assert "serve-requirements.txt" in deps1
    assert (tmp_path / "ctx1/deps/slim.py").read_bytes() == Path(slim.__file__).read_bytes()
    assert tree_digest(tmp_path / "ctx1/model") != tree_digest(tmp_path / "ctx2/model")
    for path in (tmp_path / "ctx1").rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) == (0o755 if path.is_dir() else 0o644), path
    requirements = (tmp_path / "ctx1/deps/requirements.txt").read_text().split()
    assert any(r.startswith("scikit-learn==") for r in requirements)
    assert not any(r.startswith("shipyard") for r in requirements)
    assert spec1.labels["shipyard.model.digest"] == one.digest
    assert spec1.labels["shipyard.model.version"] == "1"
    assert (tmp_path / "ctx1/Dockerfile").read_text().count("FROM ") == 3


def test_a_plain_directory_gets_name_digest_and_run(iris_dir: Callable[..., Path]) -> None:
    resolved = resolve_model(str(iris_dir("my-iris")), settings=Settings())
    assert resolved.name == "my-iris"
    assert resolved.digest and resolved.digest.startswith("sha256:")
    assert resolved.version is None


def test_a_directory_without_mlmodel_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ResourceNotFound, match="no MLmodel file"):
        resolve_model(str(tmp_path), settings=Settings())


def test_context_directory_must_be_empty(tmp_path: Path, iris_dir: Callable[..., Path]) -> None:
    model = resolve_model(str(iris_dir()), settings=Settings())
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(InvalidInput, match="is not empty"):
        write_context(model, BuildOptions(), tmp_path / "out")


def test_ca_certs_must_be_pem(tmp_path: Path) -> None:
    good = tmp_path / "corp root.pem"
    good.write_bytes(PEM)
    assert copy_ca_certs((good,), tmp_path / "ca") == ("00-corp_root.crt",)
    bad = tmp_path / "bad.crt"
    bad.write_text("not a certificate")
    with pytest.raises(InvalidInput, match="not a PEM certificate"):
        copy_ca_certs((bad,), tmp_path / "ca2")
    with pytest.raises(ResourceNotFound, match="no such file"):
        copy_ca_certs((tmp_path / "missing.crt",), tmp_path / "ca3")
