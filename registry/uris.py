"""The one place any model URI becomes a local model directory.

    models:/<name>/<version>     models:/<name>/<stage>     models:/<name>@<alias>
    models:/<name>/latest        models:/m-<logged model id>  runs:/<run_id>/<path>
    mlflow-artifacts:/<path>     http(s)://<server>/api/2.0/mlflow-artifacts/artifacts/<path>
    file:///abs/dir              plain/dir

Artifact URIs go through the artifact repository table (`tracking.artifacts`), so a scheme with
no store (`s3:`, `wasbs:` ...) is an error naming the extra, never a local folder. A host-less
`mlflow-artifacts:/` URI is on the tracking server, as MLflow reads it. `models:/m-<id>` and a
`runs:/` path that the run's own artifacts lack (MLflow 3 logs models apart from the run) are
MLflow 3's logged models, found through the tracking store.

Registered versions are verified against their digest every time they are resolved; a copy
that is not on this machine is fetched once into `Settings.cache_dir`, keyed by digest.
Callers that need to say what they serve (`serve`'s /version, image labels) get the details in
`ResolvedModel`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from shipyard.exceptions import InvalidInput, InvalidState, ResourceNotFound
from shipyard.registry.entities import STAGES, STATUS_READY, ModelVersion, canonical_stage
from shipyard.registry.search import quote_value
from shipyard.registry.storage import VersionStorage, verify_copy
from shipyard.registry.store import AbstractRegistryStore, get_registry_store
from shipyard.settings import Settings
from shipyard.tracking.artifacts import (
    ARTIFACT_REPOSITORIES,
    ArtifactRepository,
    LocalArtifactRepository,
    artifact_uri_scheme,
    confined,
    get_artifact_repository,
    safe_relative_path,
    schemes_with_store,
)
from shipyard.tracking.artifacts_logged_models import (
    is_logged_model_id,
    logged_model_artifact_uri,
    run_logged_model_uri,
)
from shipyard.tracking.fluent_state import http_for, resolve_registry_uri, resolve_tracking_uri
from shipyard.tracking.store import get_tracking_store

MODELS_SCHEME = "models"
RUNS_SCHEME = "runs"
LATEST = "latest"
_URI_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")
"""RFC 3986's scheme, two characters or more (`C:\\models` is a Windows path, not a URI)."""


@dataclass(frozen=True)
class ModelsUri:
    """A parsed `models:/` URI: exactly one of version, stage, alias, latest or logged_model_id
    (`models:/m-<id>`, MLflow 3's logged model; `name` is the id then) is set."""

    name: str
    version: int | None = None
    stage: str | None = None
    alias: str | None = None
    latest: bool = False
    logged_model_id: str | None = None


@dataclass(frozen=True)
class ResolvedModel:
    """Where a model URI led, and which registered version it is (None fields for plain paths)."""

    uri: str
    local_path: Path
    name: str | None = None
    version: int | None = None
    stage: str | None = None
    aliases: tuple[str, ...] = field(default_factory=tuple)
    digest: str | None = None
    run_id: str | None = None
    source_uri: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "uri": self.uri,
            "local_path": str(self.local_path),
            "name": self.name,
            "version": self.version,
            "stage": self.stage,
            "aliases": list(self.aliases),
            "digest": self.digest,
            "run_id": self.run_id,
            "source_uri": self.source_uri,
        }


def _scheme(uri: str) -> str:
    """`models` for `models:/x/1`, `mlflow-artifacts` for `mlflow-artifacts:/x`; '' for a plain
    path (one without `<scheme>:`)."""
    match = _URI_SCHEME.match(uri)
    return match.group(1).lower() if match else ""


def parse_models_uri(uri: str) -> ModelsUri:
    """`models:/fraud/3`, `models:/fraud/Production`, `models:/fraud@champion`, `models:/fraud/latest`."""
    if _scheme(uri) != MODELS_SCHEME:
        raise InvalidInput(f"model URI {uri!r} is not a models:/ URI")
    rest = uri.split(":", 1)[1]
    if rest.startswith("//"):
        raise InvalidInput(
            f"model URI {uri!r} names a registry host; write models:/<name>/<version|stage|latest> "
            "or models:/<name>@<alias> and choose the registry with --tracking-uri"
        )
    path = rest.lstrip("/")
    form = "expected models:/<name>/<version|stage|latest>, models:/<name>@<alias> or models:/m-<logged model id>"
    if is_logged_model_id(path):
        return ModelsUri(name=path, logged_model_id=path)
    if "@" in path:
        name, _, alias = path.rpartition("@")
        if not name or not alias or "/" in name or "/" in alias:
            raise InvalidInput(f"model URI {uri!r} is malformed; {form}")
        return ModelsUri(name=name, alias=alias)
    name, _, suffix = path.rpartition("/")
    if not name or not suffix or "/" in name:
        raise InvalidInput(f"model URI {uri!r} is malformed; {form}")
    if suffix.isdigit():
        if int(suffix) < 1:
            raise InvalidInput(f"model URI {uri!r}: version numbers start at 1")
        return ModelsUri(name=name, version=int(suffix))
    if suffix.lower() == LATEST:
        return ModelsUri(name=name, latest=True)
    try:
        return ModelsUri(name=name, stage=canonical_stage(suffix))
    except InvalidInput:
        raise InvalidInput(
            f"model URI {uri!r}: {suffix!r} is neither a version number, 'latest' nor a stage "
            f"({', '.join(STAGES)}); {form}"
        ) from None


def parse_runs_uri(uri: str) -> tuple[str, str]:
    """`runs:/<run_id>/<path>` -> (run_id, relative path, '' for the run's root)."""
    if _scheme(uri) != RUNS_SCHEME:
        raise InvalidInput(f"model URI {uri!r} is not a runs:/ URI")
    path = uri.split(":", 1)[1].lstrip("/")
    run_id, _, artifact_path = path.partition("/")
    if not run_id:
        raise InvalidInput(f"model URI {uri!r} is malformed; expected runs:/<run_id>/<artifact path>")
    return run_id, artifact_path.strip("/")


def find_version(store: AbstractRegistryStore, parsed: ModelsUri, uri: str) -> ModelVersion:
    """The version a parsed models:/ URI names; errors say what was asked and what exists."""
    if parsed.version is not None:
        return store.get_model_version(parsed.name, parsed.version)
    if parsed.alias is not None:
        return store.get_model_version_by_alias(parsed.name, parsed.alias)
    model = store.get_registered_model(parsed.name)  # raises, listing the models, if unknown
    if parsed.latest:
        ready = store.search_model_versions(
            f"name = '{quote_value(parsed.name)}' AND status = '{STATUS_READY}'",
            max_results=1,
            order_by=["version_number DESC"],
        )
        if not ready:
            raise ResourceNotFound(f"{uri}: registered model {parsed.name!r} has no READY version yet")
        return ready[0]
    found = store.get_latest_versions(parsed.name, [parsed.stage or ""])
    if not found:
        in_use = ", ".join(f"{mv.current_stage} (version {mv.version})" for mv in model.latest_versions)
        raise ResourceNotFound(
            f"{uri}: registered model {parsed.name!r} has no version in stage {parsed.stage}; "
            + (f"latest version per stage: {in_use}" if in_use else "it has no versions")
        )
    return found[0]


def local_copy(mv: ModelVersion, *, settings: Settings) -> Path:
    """A verified local directory holding a READY version (its stored copy, or the cache's)."""
    what = f"model {mv.name!r} version {mv.version}"
    if mv.status != STATUS_READY or not mv.digest or not mv.storage_location:
        raise InvalidState(
            f"{what} is {mv.status}{': ' + mv.status_message if mv.status_message else ''}; "
            "only READY versions can be loaded"
        )
    location = urlparse(mv.storage_location)
    if location.scheme in ("", "file"):
        path = Path(unquote(location.path)) if location.scheme else Path(mv.storage_location)
        verify_copy(path, mv.digest, what=what)
        return path
    repo = get_artifact_repository(mv.storage_location, http_for(settings))
    cache = VersionStorage(Path(settings.cache_dir) / "models")

    def fetch(tmp: Path) -> None:
        repo.download_artifacts("", tmp)

    return cache.import_with(mv.digest, fetch)


def resolved_version(uri: str, mv: ModelVersion, *, settings: Settings) -> ResolvedModel:
    """A registered version as a verified local directory and the details that say what it is."""
    return ResolvedModel(
        uri=uri,
        local_path=local_copy(mv, settings=settings),
        name=mv.name,
        version=mv.version,
        stage=mv.current_stage,
        aliases=tuple(mv.aliases),
        digest=mv.digest,
        run_id=mv.run_id,
        source_uri=mv.source,
    )


def _from_repository(uri: str, repo: ArtifactRepository, relative: str, settings: Settings) -> tuple[Path, str | None]:
    """(local model directory, digest of the fetched copy or None) of `relative` in `repo`: a
    local repository's folder in place; a remote one's fetched into the digest-keyed cache (so
    loading the same files again reuses space)."""
    if isinstance(repo, LocalArtifactRepository):
        path = confined(repo.root, relative)
        if not path.is_dir():
            raise ResourceNotFound(f"{uri}: {str(path)!r} is not a model directory (no such folder)")
        return path, None

    def fetch(tmp: Path) -> Path:
        folder = Path(repo.download_artifacts(relative, tmp / "fetched"))
        if not folder.is_dir() or not any(folder.iterdir()):
            raise ResourceNotFound(f"{uri}: not a model directory (a file, or no files there)")
        return folder

    stored = VersionStorage(Path(settings.cache_dir) / "models").adopt(fetch)
    return stored.path, stored.digest


def _has_folder(repo: ArtifactRepository, relative: str) -> bool:
    if isinstance(repo, LocalArtifactRepository):
        return confined(repo.root, relative).is_dir()
    return bool(relative) and bool(repo.list_artifacts(relative))


def _resolve_runs(uri: str, tracking_uri: str, settings: Settings) -> ResolvedModel:
    run_id, artifact_path = parse_runs_uri(uri)
    http = http_for(settings)
    store = get_tracking_store(tracking_uri, None, http)
    run = store.get_run(run_id)
    repo = get_artifact_repository(run.info.artifact_uri, http, tracking_uri=tracking_uri)
    relative = safe_relative_path(artifact_path)
    if not _has_folder(repo, relative):
        # NOTE: MLflow 3 logs `log_model(name=...)` as a logged model outside the run's artifacts.
        name, _, rest = relative.partition("/")
        model_uri = run_logged_model_uri(store, run, name) if name else None
        if model_uri is None:
            listed = ", ".join(f.path for f in repo.list_artifacts(None)) or "no artifacts"
            raise ResourceNotFound(
                f"{uri}: run {run_id} has no model directory {relative!r} and logged no model named "
                f"{name!r}; its artifacts: {listed}"
            )
        repo, relative = get_artifact_repository(model_uri, http, tracking_uri=tracking_uri), rest
    path, digest = _from_repository(uri, repo, relative, settings)
    return ResolvedModel(uri=uri, local_path=path, run_id=run_id, digest=digest, source_uri=uri)


def _resolve_logged_model(uri: str, model_id: str, tracking_uri: str, settings: Settings) -> ResolvedModel:
    http = http_for(settings)
    artifact_uri = logged_model_artifact_uri(get_tracking_store(tracking_uri, None, http), model_id, http)
    repo = get_artifact_repository(artifact_uri, http, tracking_uri=tracking_uri)
    path, digest = _from_repository(uri, repo, "", settings)
    return ResolvedModel(uri=uri, local_path=path, digest=digest, source_uri=artifact_uri)


def _resolve_artifact_uri(uri: str, tracking_uri: str, settings: Settings) -> ResolvedModel:
    repo = get_artifact_repository(uri, http_for(settings), tracking_uri=tracking_uri)
    path, digest = _from_repository(uri, repo, "", settings)
    return ResolvedModel(uri=uri, local_path=path, digest=digest, source_uri=uri)


def resolve_model_uri(
    uri: str | Path,
    *,
    settings: Settings,
    tracking_uri: str | None = None,
    registry_uri: str | None = None,
) -> ResolvedModel:
    """Resolve any model URI to a local, verified model directory (see the module docstring).

    `settings` is the caller's (its edge built them): the cache, the credentials and, with the
    URIs not given, the stores (`fluent_state.resolve_tracking_uri` / `resolve_registry_uri`)."""
    text = str(uri)
    scheme = _scheme(text)
    if scheme == MODELS_SCHEME:
        parsed = parse_models_uri(text)
        if parsed.logged_model_id is not None:
            return _resolve_logged_model(
                text, parsed.logged_model_id, resolve_tracking_uri(tracking_uri, settings), settings
            )
        store = get_registry_store(resolve_registry_uri(registry_uri, settings, tracking_uri), None, http_for(settings))
        return resolved_version(text, find_version(store, parsed, text), settings=settings)
    if scheme == RUNS_SCHEME:
        return _resolve_runs(text, resolve_tracking_uri(tracking_uri, settings), settings)
    if scheme in ("", "file"):
        path = Path(unquote(urlparse(text).path)) if scheme == "file" else Path(text)
        if not path.is_dir():
            raise ResourceNotFound(f"model directory {str(path)!r} (from {text!r}) does not exist")
        return ResolvedModel(uri=text, local_path=path.resolve(), source_uri=text)
    if scheme in ARTIFACT_REPOSITORIES and artifact_uri_scheme(text) == scheme:
        return _resolve_artifact_uri(text, resolve_tracking_uri(tracking_uri, settings), settings)
    raise InvalidInput(
        f"model URI {text!r} has scheme {scheme!r}; supported: models:/<name>/<version|stage|latest>, "
        "models:/<name>@<alias>, models:/m-<logged model id>, runs:/<run_id>/<path>, artifact URIs "
        f"({', '.join(schemes_with_store())}) and local paths"
    )


__all__ = [
    "ModelsUri",
    "ResolvedModel",
    "find_version",
    "local_copy",
    "parse_models_uri",
    "parse_runs_uri",
    "resolve_model_uri",
    "resolved_version",
]
