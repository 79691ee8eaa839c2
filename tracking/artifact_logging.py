"""Turn in-memory objects (text, dicts, images, figures) into artifact files."""

from __future__ import annotations

import io
import json
import posixpath
import tempfile
from pathlib import Path
from typing import Any

from shipyard.exceptions import InvalidInput
from shipyard.tracking.artifacts import ArtifactRepository


def log_text(repo: ArtifactRepository, text: str, artifact_file: str) -> None:
    if not isinstance(text, str):
        raise InvalidInput(f"text must be a str, got {type(text).__name__}")
    repo.log_bytes(text.encode("utf-8"), artifact_file)


def log_dict(repo: ArtifactRepository, dictionary: Any, artifact_file: str) -> None:
    """JSON, or YAML when `artifact_file` ends in .yaml/.yml."""
    extension = posixpath.splitext(artifact_file)[1].lower()
    if extension in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_dump(dictionary, default_flow_style=False, sort_keys=False)
    else:
        try:
            data = json.dumps(dictionary, indent=2)
        except TypeError as error:
            raise InvalidInput(f"dictionary for {artifact_file!r} is not JSON-serializable: {error}") from None
    repo.log_bytes(data.encode("utf-8"), artifact_file)


def image_to_png(image: Any) -> bytes:
    """A PIL image or a numpy array (HxW, HxWx1, HxWx3, HxWx4; uint8 0-255 or float 0-1) -> PNG."""
    from PIL import Image

    if not isinstance(image, Image.Image):
        import numpy as np

        array = np.asarray(image)
        if array.ndim == 3 and array.shape[2] == 1:
            array = array[:, :, 0]
        if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
            raise InvalidInput(f"image array has shape {array.shape}; expected HxW, HxWx1, HxWx3 or HxWx4")
        if array.dtype.kind == "f":
            if array.size and (np.nanmin(array) < 0 or np.nanmax(array) > 1):
                raise InvalidInput("float image values must lie in [0, 1]")
            array = (np.nan_to_num(array) * 255).round().astype(np.uint8)
        elif array.dtype.kind in "iub":
            if array.size and (array.min() < 0 or array.max() > 255):
                raise InvalidInput("integer image values must lie in [0, 255]")
            array = array.astype(np.uint8)
        else:
            raise InvalidInput(f"image array has dtype {array.dtype}; expected integers or floats")
        image = Image.fromarray(array)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def log_image(repo: ArtifactRepository, image: Any, artifact_file: str) -> None:
    repo.log_bytes(image_to_png(image), artifact_file)


def log_figure(
    repo: ArtifactRepository, figure: Any, artifact_file: str, *, save_kwargs: dict[str, Any] | None = None
) -> None:
    """A matplotlib figure (anything with `savefig`), in the format the file extension names."""
    if not hasattr(figure, "savefig"):
        raise InvalidInput(f"figure of type {type(figure).__name__} is not supported; expected a matplotlib Figure")
    name = posixpath.basename(artifact_file) or "figure.png"
    with tempfile.TemporaryDirectory(prefix="shipyard-figure-") as tmp:
        local = Path(tmp) / name
        figure.savefig(local, **(save_kwargs or {}))
        repo.log_bytes(local.read_bytes(), artifact_file)


__all__ = ["image_to_png", "log_dict", "log_figure", "log_image", "log_text"]
