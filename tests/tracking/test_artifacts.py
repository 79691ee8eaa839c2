"""The local artifact repository: round trips, and every way out of the root refused."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from shipyard.exceptions import ArtifactPathError, InvalidInput, ResourceNotFound
from shipyard.tracking import artifact_logging
from shipyard.tracking.artifacts import LocalArtifactRepository, get_artifact_repository


@pytest.fixture()
def repo(tmp_path: Path) -> LocalArtifactRepository:
    root = tmp_path / "root"
    root.mkdir()
    return LocalArtifactRepository(root.as_uri())


def test_log_list_download_round_trip(repo: LocalArtifactRepository, tmp_path: Path) -> None:
    source = tmp_path / "report.html"
    source.write_text("<h1>ok</h1>")
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a")
    (folder / "sub" / "b.txt").write_text("bb")

    repo.log_artifact(source)
    repo.log_artifact(source, "html/pages")
    repo.log_artifacts(folder, "data")
    assert [(f.path, f.is_dir) for f in repo.list_artifacts()] == [
        ("data", True),
        ("html", True),
        ("report.html", False),
    ]
    assert [(f.path, f.file_size) for f in repo.list_artifacts("data")] == [("data/a.txt", 1), ("data/sub", None)]
    assert repo.list_artifacts("missing") == []

    downloaded = Path(repo.download_artifacts("data", tmp_path / "dl"))
    assert (downloaded / "sub" / "b.txt").read_text() == "bb"
    single = Path(repo.download_artifacts("html/pages/report.html"))
    assert single.read_text() == "<h1>ok</h1>"
    with pytest.raises(ResourceNotFound):
        repo.download_artifacts("nope.txt")
    repo.delete_artifacts("html")
    assert [f.path for f in repo.list_artifacts()] == ["data", "report.html"]


def test_repository_is_chosen_by_scheme(tmp_path: Path) -> None:
    assert isinstance(get_artifact_repository(str(tmp_path)), LocalArtifactRepository)
    assert isinstance(get_artifact_repository(tmp_path.as_uri()), LocalArtifactRepository)
    with pytest.raises(InvalidInput, match="'gs'"):
        get_artifact_repository("gs://bucket/path")


@pytest.mark.parametrize("bad", ["../x", "a/../../x", "..", "/etc/x", "/", "C:/x", "a\\..\\..\\x"])
def test_paths_escaping_the_root_are_refused(repo: LocalArtifactRepository, tmp_path: Path, bad: str) -> None:
    source = tmp_path / "f.txt"
    source.write_text("x")
    with pytest.raises(ArtifactPathError):
        repo.log_artifact(source, bad)
    with pytest.raises(ArtifactPathError):
        repo.log_artifacts(tmp_path, bad)
    with pytest.raises(ArtifactPathError):
        repo.list_artifacts(bad)
    with pytest.raises(ArtifactPathError):
        repo.download_artifacts(bad)
    with pytest.raises(ArtifactPathError):
        artifact_logging.log_text(repo, "x", f"{bad}/f.txt")
    assert not (tmp_path / "x").exists()


def test_symlinks_leading_out_are_refused(repo: LocalArtifactRepository, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    os.symlink(outside, repo.root / "link")
    os.symlink(outside / "secret.txt", repo.root / "file-link")
    source = tmp_path / "f.txt"
    source.write_text("x")

    with pytest.raises(ArtifactPathError, match="symlink"):
        repo.log_artifact(source, "link")  # writing through it would land outside
    with pytest.raises(ArtifactPathError, match="symlink"):
        repo.download_artifacts("file-link")
    with pytest.raises(ArtifactPathError, match="symlink"):
        repo.list_artifacts("link")
    with pytest.raises(ArtifactPathError, match="symlink"):
        repo.list_artifacts()  # the listing would expose the link's target
    assert not (outside / "f.txt").exists()

    to_upload = tmp_path / "upload"
    to_upload.mkdir()
    os.symlink(outside / "secret.txt", to_upload / "innocent.txt")
    with pytest.raises(ArtifactPathError, match="outside the folder"):
        repo.log_artifacts(to_upload, "up")


def test_text_dict_image_and_figure(repo: LocalArtifactRepository) -> None:
    artifact_logging.log_text(repo, "héllo", "notes/hello.txt")
    artifact_logging.log_dict(repo, {"a": [1, 2]}, "conf/params.json")
    artifact_logging.log_dict(repo, {"a": [1, 2]}, "conf/params.yaml")
    artifact_logging.log_image(repo, np.linspace(0, 1, 12).reshape(2, 2, 3), "img/float.png")
    artifact_logging.log_image(repo, Image.new("RGB", (3, 2), "red"), "img/pil.png")
    root = repo.root
    assert (root / "notes" / "hello.txt").read_text(encoding="utf-8") == "héllo"
    assert json.loads((root / "conf" / "params.json").read_text()) == {"a": [1, 2]}
    assert yaml.safe_load((root / "conf" / "params.yaml").read_text()) == {"a": [1, 2]}
    with Image.open(root / "img" / "float.png") as image:
        assert image.size == (2, 2)
        assert image.getpixel((1, 1)) == (209, 232, 255)
    with Image.open(root / "img" / "pil.png") as image:
        assert image.getpixel((0, 0)) == (255, 0, 0)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots()
    axes.plot([0, 1], [1, 0])
    artifact_logging.log_figure(repo, figure, "plots/line.png")
    plt.close(figure)
    assert (root / "plots" / "line.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((2, 2, 5)), "shape"),
        (np.full((2, 2), 2.0), r"\[0, 1\]"),
        (np.full((2, 2), 300), r"\[0, 255\]"),
        (np.array([["a"]]), "dtype"),
    ],
)
def test_bad_images_are_refused(repo: LocalArtifactRepository, image: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        artifact_logging.log_image(repo, image, "x.png")
