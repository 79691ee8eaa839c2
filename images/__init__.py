"""Docker images for models: a spec, a pure Dockerfile renderer, the build context, the build."""

from shipyard.images.build import BuiltImage, build_image, connect
from shipyard.images.context import write_context
from shipyard.images.dockerfile import render_dockerfile
from shipyard.images.source import resolve_model
from shipyard.images.spec import DEFAULT_BASE_IMAGE, BuildOptions, ImageSpec, make_spec

__all__ = [
    "BuildOptions",
    "BuiltImage",
    "DEFAULT_BASE_IMAGE",
    "ImageSpec",
    "build_image",
    "connect",
    "make_spec",
    "render_dockerfile",
    "resolve_model",
    "write_context",
]
