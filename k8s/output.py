"""Manifests as YAML: one file per object in a directory, or one multi-document stream."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from shipyard.k8s.objects import Manifest


def to_yaml(manifests: Sequence[Manifest]) -> str:
    """`kubectl apply -f -` input: the objects in order, `---` between them, keys as written."""
    return "---\n".join(yaml.safe_dump(m, sort_keys=False, default_flow_style=False) for m in manifests)


def file_name(manifest: Manifest) -> str:
    return f"{manifest['kind'].lower()}-{manifest['metadata']['name']}.yaml"


def write_manifests(manifests: Sequence[Manifest], directory: Path) -> list[Path]:
    """One file per object, numbered in apply order (`kubectl apply -f DIR` sorts by name)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for index, manifest in enumerate(manifests, start=1):
        path = directory / f"{index:02d}-{file_name(manifest)}"
        path.write_text(to_yaml([manifest]), encoding="utf-8")
        written.append(path)
    return written


__all__ = ["file_name", "to_yaml", "write_manifests"]
