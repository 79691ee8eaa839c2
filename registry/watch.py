"""Which version a moving `models:/` URI (a stage, an alias, `latest`) names now: what `serve
--follow` polls.

A poll asks the store for the one version the URI names (an alias or stage lookup: one or two
indexed queries on the SQL store, one or two GETs on the REST store), never the model's whole
history; only when that version differs from the served one is it fetched (digest-verified, into
the cache) by `fetch`.
"""

from __future__ import annotations

from shipyard.exceptions import InvalidInput
from shipyard.registry.entities import ModelVersion
from shipyard.registry.store import get_registry_store
from shipyard.registry.uris import (
    MODELS_SCHEME,
    ResolvedModel,
    find_version,
    parse_models_uri,
    resolved_version,
)
from shipyard.settings import Settings
from shipyard.tracking.fluent_state import http_for, resolve_registry_uri


def is_moving(uri: str) -> bool:
    """True for a models:/ URI naming a stage, an alias or `latest`: one that can move."""
    if not uri.lower().startswith(MODELS_SCHEME + ":"):
        return False
    parsed = parse_models_uri(uri)
    return parsed.logged_model_id is None and parsed.version is None


class RegistryWatch:
    """The registry end of following one moving URI."""

    def __init__(self, uri: str, *, settings: Settings) -> None:
        if not is_moving(uri):
            raise InvalidInput(
                f"model URI {uri!r} cannot be followed: only models:/<name>/<stage>, models:/<name>@<alias> "
                "and models:/<name>/latest move; pass --no-follow or one of those"
            )
        self.uri = uri
        self._parsed = parse_models_uri(uri)
        self._settings = settings
        # NOTE: one short attempt per poll (the next poll is the retry): a stopping server waits
        # for the poll in flight. `fetch` keeps the patient client of the settings.
        polling = http_for(settings).for_polling()
        self._store = get_registry_store(resolve_registry_uri(None, settings, None), None, polling)

    def current(self) -> ModelVersion:
        """The version the URI names now (blocking: call it off the event loop)."""
        return find_version(self._store, self._parsed, self.uri)

    def fetch(self, mv: ModelVersion) -> ResolvedModel:
        """`mv` as a verified local directory (blocking: it may download the version)."""
        return resolved_version(self.uri, mv, settings=self._settings)


__all__ = ["RegistryWatch", "is_moving"]
