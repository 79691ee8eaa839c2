"""`shipyard models ...`: the registry commands release pipelines script (each with `--json`),
and MLflow's `models serve|predict|build-docker` (`MODEL_COMMANDS`, imported only when they run).

Errors print one line (`Error: <CODE>: <message>`) and exit 1; there is never a traceback for a
caller's mistake.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

from shipyard.cli import LazyGroup
from shipyard.commands.errors import reported_errors
from shipyard.commands.output import table, when
from shipyard.flavors.mlmodel import Model
from shipyard.registry.client import RegistryClient
from shipyard.registry.deployments import Deployment
from shipyard.registry.digest import compute_digest
from shipyard.registry.entities import HistoryEntry, ModelVersion
from shipyard.registry.search import quote_value
from shipyard.settings import cli_settings

_tracking_uri = click.option(
    "--tracking-uri",
    default=None,
    help="Tracking/registry store URI [SHIPYARD_TRACKING_URI, then MLFLOW_TRACKING_URI, default sqlite in the cwd]",
)
_json = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
_user = click.option(
    "--user", default=None, help="Who the history records for moves and rollbacks [default: the OS user]"
)


def _command(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the shared options and turn Shipyard errors into a one-line message and exit 1."""

    @_tracking_uri
    @_json
    @_user
    @functools.wraps(func)
    def wrapper(tracking_uri: str | None, as_json: bool, user: str | None, **kwargs: Any) -> None:
        with reported_errors():
            client = RegistryClient(tracking_uri, settings=cli_settings(), user=user)
            result = func(client, **kwargs)
        if as_json:
            click.echo(json.dumps(_jsonable(result), indent=2, sort_keys=True))
        else:
            click.echo(_text(result))

    return wrapper


def _jsonable(result: Any) -> Any:
    if isinstance(result, list):
        return [_jsonable(r) for r in result]
    return result.to_dict() if hasattr(result, "to_dict") else result


def _version_line(mv: ModelVersion) -> str:
    aliases = " ".join(f"@{a}" for a in mv.aliases)
    return (
        f"{mv.name} version {mv.version}  stage={mv.current_stage}  status={mv.status}"
        f"{'  ' + aliases if aliases else ''}  digest={mv.digest or '-'}  source={mv.source or '-'}"
    )


def _history_line(e: HistoryEntry) -> str:
    if e.alias is not None:
        what = f"@{e.alias}: version {e.from_value or '-'} -> {e.to_value or '(deleted)'}"
    else:
        what = f"version {e.version}: {e.from_value} -> {e.to_value}"
    return f"{when(e.timestamp)}  {e.user_id or '-':<12} {e.action:<12} {what}"


@dataclass(frozen=True, slots=True)
class _Deployments:
    """`models deployments`: the live records of one model (a table, or `--json`)."""

    name: str
    records: list[Deployment]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "deployments": [d.to_dict() for d in self.records]}

    def text(self) -> str:
        if not self.records:
            return f"no server reports serving model {self.name!r}"
        headers = ["Host", "Port", "PID", "Versions", "Ready", "Started", "Last report", "URI"]
        rows = [
            [d.host, str(d.port), str(d.pid), ",".join(d.versions), "yes" if d.ready else "no", when(d.started_at)]
            + [when(d.reported_at), d.uri or "-"]
            for d in self.records
        ]
        return table(rows, headers)


def _text(result: Any) -> str:
    if isinstance(result, _Deployments):
        return result.text()
    if isinstance(result, ModelVersion):
        return _version_line(result)
    if isinstance(result, list):
        lines = [_text(r) for r in result]
        return "\n".join(lines) if lines else "(none)"
    if isinstance(result, HistoryEntry):
        return _history_line(result)
    if isinstance(result, dict):
        return "\n".join(f"{k}: {_scalar(v)}" for k, v in result.items())
    return str(result)


def _scalar(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "-"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return "-" if value is None else str(value)


MODEL_COMMANDS: dict[str, str] = {
    "build-docker": "shipyard.commands.model_image:build_docker",
    "generate-dockerfile": "shipyard.images.cli:generate_dockerfile",
    "predict": "shipyard.commands.model_predict:predict",
    "serve": "shipyard.commands.model_serving:serve_command",
}
"""MLflow's `models` subcommands (the same commands as the top-level ones), as import strings:
`shipyard models serve` in a serving image imports neither the registry's database code nor
docker-py."""


@click.group("models", cls=LazyGroup, lazy_commands=MODEL_COMMANDS)
def models_cli() -> None:
    """Registered models: register versions, move stages and aliases, roll back; serve, predict
    and build images (MLflow's `models serve|predict|build-docker`)."""


@models_cli.command("register")
@click.argument("model_uri")
@click.argument("name")
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", help="Version tag (repeatable).")
@_command
def register(client: RegistryClient, model_uri: str, name: str, tags: tuple[str, ...]) -> ModelVersion:
    """Register MODEL_URI (runs:/, models:/, file:// or a path) as a new version of NAME."""
    parsed: dict[str, str] = {}
    for item in tags:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} must look like KEY=VALUE", param_hint="--tag")
        parsed[key] = value
    return client.register_model(model_uri, name, parsed or None)


@models_cli.command("versions")
@click.argument("name")
@_command
def versions(client: RegistryClient, name: str) -> list[ModelVersion]:
    """List NAME's versions, newest first."""
    client.get_registered_model(name)  # an unknown name is an error that lists the models
    return client.search_model_versions(f"name = '{quote_value(name)}'", order_by=["version_number DESC"])


@models_cli.command("transition")
@click.argument("name")
@click.argument("version")
@click.argument("stage")
@click.option("--archive-existing", is_flag=True, help="Archive versions now in STAGE (Staging/Production).")
@_command
def transition(client: RegistryClient, name: str, version: str, stage: str, archive_existing: bool) -> ModelVersion:
    """Move VERSION of NAME to STAGE (None, Staging, Production, Archived; any case)."""
    return client.transition_model_version_stage(name, version, stage, archive_existing)


@models_cli.command("alias")
@click.argument("name")
@click.argument("alias")
@click.argument("version")
@_command
def alias(client: RegistryClient, name: str, alias: str, version: str) -> ModelVersion:
    """Point ALIAS of NAME at VERSION (models:/NAME@ALIAS then loads it)."""
    client.set_registered_model_alias(name, alias.lstrip("@"), version)
    return client.get_model_version(name, version)


@models_cli.command("describe")
@click.argument("model_uri")
@_command
def describe(client: RegistryClient, model_uri: str) -> dict[str, Any]:
    """Resolve MODEL_URI; print version, stage, aliases, digest, signature (verifies the digest)."""
    resolved = client.resolve(model_uri)
    info = resolved.to_dict()
    if info["digest"] is None:  # a run's or a plain directory: say what its content is anyway
        info["digest"] = compute_digest(resolved.local_path)
    info["signature"] = _signature(resolved.local_path)
    return info


def _signature(local_path: Any) -> dict[str, Any] | None:
    signature = Model.load(local_path).signature
    if signature is None:
        return None
    # NOTE: MLmodel stores each schema as a JSON string; decode them so --json is plain JSON.
    return {k: json.loads(v) if isinstance(v, str) else v for k, v in signature.to_dict().items()}


@models_cli.command("history")
@click.argument("name")
@_command
def history(client: RegistryClient, name: str) -> list[HistoryEntry]:
    """Every stage transition and alias move of NAME: when, who, what, from and to."""
    return client.get_model_history(name)


@models_cli.command("rollback")
@click.argument("name")
@click.argument("stage_or_alias")
@_command
def rollback(client: RegistryClient, name: str, stage_or_alias: str) -> ModelVersion:
    """Point STAGE_OR_ALIAS (Production, Staging, or an alias / @alias) back at its previous version."""
    return client.rollback_model(name, stage_or_alias)


@models_cli.command("deployments")
@click.argument("name")
@_command
def deployments(client: RegistryClient, name: str) -> _Deployments:
    """Which `shipyard serve` processes serve NAME now: host, port, pid, versions, ready (from
    their reports each poll interval; a server silent for 3 intervals is not listed)."""
    return _Deployments(name, client.registry_store.list_deployments(name))


__all__ = ["MODEL_COMMANDS", "models_cli"]
