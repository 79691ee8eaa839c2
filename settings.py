"""Process-wide settings read once from `SHIPYARD_*` environment variables.

NOTE: build a `Settings` only at an edge (a CLI command, the server's start, the public Python
API's first use in a process, which keeps it in `shipyard.tracking.fluent_state`) and pass it
down; library code never builds one and never reads `os.environ` itself
(tests/test_settings_edges.py holds this). Areas with many knobs (`ServeSettings`,
`ServerSettings`) keep their own settings class beside their code and contain a `Settings` as
their `base` field instead of repeating its fields.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeVar

import click
from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from shipyard.redact import mask_url

URL_FIELDS = ("tracking_uri", "registry_uri")
"""Fields that may hold a database URL with a password: masked in `repr`, `str` and log dumps."""


class Settings(BaseSettings):
    """What every part of Shipyard may need to know about where things live and what is allowed."""

    model_config = SettingsConfigDict(env_prefix="SHIPYARD_", extra="ignore")

    tracking_uri: str | None = None
    """Where runs and the registry live; None means the embedded sqlite default in the cwd."""

    registry_uri: str | None = None
    """Where the model registry lives; None means the tracking URI."""

    cache_dir: Path = Path.home() / ".cache" / "shipyard"
    """Local cache of fetched model versions, keyed by digest."""

    allow_pickle: bool = True
    """False refuses every pickle-based model format at load time (cloudpickle, pickle, torch.save)."""

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """What `repr` and `str` show: URL passwords masked."""
        for name, value in super().__repr_args__():
            yield name, mask_url(value) if name in URL_FIELDS and isinstance(value, str) else value

    def public_dump(self) -> dict[str, Any]:
        """`model_dump(mode="json")` with URL passwords masked: for log lines, never for a hand-off."""
        data = self.model_dump(mode="json")
        for name in URL_FIELDS:
            if isinstance(data.get(name), str):
                data[name] = mask_url(data[name])
        return data


class AreaSettings(Protocol):
    """A settings class of one area (`ServeSettings`, `ServerSettings`): contains a `Settings`."""

    def __init__(self, *, base: Settings, **fields: Any) -> None: ...


AreaT = TypeVar("AreaT", bound=AreaSettings)


def settings_from_flags(area: type[AreaT], flags: Mapping[str, Any]) -> AreaT:
    """A CLI command's settings: the flags given (None = not given) win over the variables.

    The one place a command turns a bad flag or variable into a usage error that names it
    (`port: Input should be less than or equal to 65535`), never a pydantic traceback.
    """
    given = {key: value for key, value in flags.items() if value is not None}
    try:
        return area(base=Settings(), **given)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors()
        )
        raise click.UsageError(problems) from None


__all__ = ["AreaSettings", "Settings", "URL_FIELDS", "settings_from_flags"]
