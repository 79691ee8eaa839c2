"""Checks and small values shared by the registry stores: names, version numbers, timestamps."""

from __future__ import annotations

import time

from shipyard.exceptions import InvalidInput

MAX_NAME_LENGTH = 256


def now_ms() -> int:
    return int(time.time() * 1000)


def validate_model_name(name: str) -> str:
    """Names appear in `models:/<name>/...` URIs, so `/` and `@` are not allowed in them."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"registered model name {name!r} is empty; give a non-empty name")
    if name != name.strip() or len(name) > MAX_NAME_LENGTH or any(c in name for c in "/@\n"):
        raise InvalidInput(
            f"registered model name {name!r} is not allowed: it must be at most {MAX_NAME_LENGTH} "
            "characters, without leading/trailing spaces, '/', '@' or newlines"
        )
    return name


def version_number(version: int | str) -> int:
    text = str(version).strip()
    if not text.isdigit() or int(text) < 1:
        raise InvalidInput(f"model version {version!r} is not a positive integer")
    return int(text)


__all__ = ["MAX_NAME_LENGTH", "now_ms", "validate_model_name", "version_number"]
