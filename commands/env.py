"""`shipyard env list|gc`: the cache of project environments under `SHIPYARD_ENV_ROOT`."""

from __future__ import annotations

import click

from shipyard.commands.output import table, when
from shipyard.projects.env_cache import EnvCache
from shipyard.projects.launch import env_root
from shipyard.settings import cli_settings

DAY_S = 86400.0


def _cache() -> EnvCache:
    return EnvCache(env_root(cli_settings()))


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


@click.group("env")
def env() -> None:
    """Show and prune the environments `shipyard run` built (one per environment file and Python)."""


@env.command("list")
def list_envs() -> None:
    """Every environment, least recently used first: key, manager, Python, last use, size, source."""
    cache = _cache()
    rows = [
        [
            e.key,
            e.manager if e.complete else "(half-built)",
            e.python or "-",
            when(int(e.last_used * 1000)),
            _size(e.size_bytes()),
            e.source or "-",
        ]
        for e in cache.entries()
    ]
    click.echo(f"Environments in {cache.root}:")
    click.echo(table(rows, ["Key", "Manager", "Python", "Last used", "Size", "Source"]))


@env.command("gc")
@click.option(
    "--older-than-days",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Remove environments not used for this many days (half-built ones always go).",
)
@click.option("--all", "remove_all", is_flag=True, help="Remove every environment nobody is building right now.")
def gc_envs(older_than_days: float, remove_all: bool) -> None:
    """Remove unused and half-built environments (never one that is being built)."""
    cache = _cache()
    removed = cache.gc(None if remove_all else older_than_days * DAY_S)
    for entry in removed:
        click.echo(f"Removed {entry.path}")
    click.echo(f"Removed {len(removed)} environment(s) from {cache.root}.")


__all__ = ["env"]
