"""Content digest of a model directory: what makes a registered version verifiable.

The digest is sha256 over a canonical listing: every entry, sorted by its relative POSIX path,
contributes `F <path> <size>\\n` followed by the file's bytes (or `D <path>\\n` for an empty
directory). Paths are length-safe because the size precedes the bytes and paths hold no newline.
Nothing is excluded: an added, removed, renamed, truncated or edited file changes the digest.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from shipyard.exceptions import InvalidInput, ResourceNotFound

DIGEST_PREFIX = "sha256:"
CHUNK_SIZE = 1 << 20


def iter_entries(root: Path) -> Iterator[tuple[str, Path, bool]]:
    """Yield (relative posix path, absolute path, is_dir) for files and empty dirs, sorted.

    NOTE: symlinks are followed for files (the version stores the bytes) but a directory symlink
    is refused: it could loop or pull in a tree outside the model directory.
    """
    root = Path(root)
    if not root.is_dir():
        raise ResourceNotFound(f"model directory {str(root)!r} does not exist or is not a directory")
    entries: list[tuple[str, Path, bool]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        for d in dirnames:
            if (here / d).is_symlink():
                raise InvalidInput(
                    f"model directory {str(root)!r} contains a directory symlink "
                    f"{str((here / d).relative_to(root))!r}; only regular files and directories "
                    "can be registered"
                )
        if not dirnames and not filenames and here != root:
            entries.append((here.relative_to(root).as_posix(), here, True))
        for f in filenames:
            p = here / f
            rel = p.relative_to(root).as_posix()
            if "\n" in rel:
                raise InvalidInput(f"file name {rel!r} in {str(root)!r} contains a newline")
            if not p.is_file():
                raise InvalidInput(
                    f"{rel!r} in model directory {str(root)!r} is not a regular file "
                    "(broken symlink, socket or pipe); only regular files can be registered"
                )
            entries.append((rel, p, False))
    entries.sort(key=lambda e: e[0])
    return iter(entries)


def entry_header(rel: str, size: int | None) -> bytes:
    """The listing line that precedes an entry's bytes in the digest stream."""
    if size is None:
        return f"D {rel}\n".encode()
    return f"F {rel} {size}\n".encode()


def compute_digest(root: str | Path) -> str:
    """`sha256:<hex>` of a model directory's contents (see the module docstring)."""
    h = hashlib.sha256()
    for rel, path, is_dir in iter_entries(Path(root)):
        if is_dir:
            h.update(entry_header(rel, None))
            continue
        h.update(entry_header(rel, path.stat().st_size))
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK_SIZE):
                h.update(chunk)
    return DIGEST_PREFIX + h.hexdigest()


def digest_hex(digest: str) -> str:
    """The hex part of a `sha256:<hex>` digest, checked, for use as a directory name."""
    if not digest.startswith(DIGEST_PREFIX):
        raise InvalidInput(f"digest {digest!r} must start with {DIGEST_PREFIX!r}")
    hexpart = digest[len(DIGEST_PREFIX) :]
    if len(hexpart) != 64 or any(c not in "0123456789abcdef" for c in hexpart):
        raise InvalidInput(f"digest {digest!r} is not a sha256 digest (64 lowercase hex digits)")
    return hexpart


__all__ = ["DIGEST_PREFIX", "compute_digest", "digest_hex", "entry_header", "iter_entries"]
