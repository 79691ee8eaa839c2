"""Typed entry-point parameters: every value checked before anything runs, then substituted
shell-quoted into the command (MLflow's types: string, float, int, path, uri).

NOTE: a given value that is a relative path is taken from the caller's working directory (as
`mlflow run` does); a default that is one, from the project's folder, where its author meant it.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shipyard.exceptions import InvalidInput

PARAMETER_TYPES = ("string", "float", "int", "path", "uri")


@dataclass(frozen=True)
class Parameter:
    """One declared parameter; `default` None means the caller must give it."""

    name: str
    type: str
    default: str | None = None


def _checked(param: Parameter, value: str, base: Path) -> tuple[str | None, str]:
    """(problem or None, the value to substitute) of one value of `param`."""
    what = f"parameter {param.name!r} got {value!r}"
    if param.type == "float":
        try:
            float(value)
        except ValueError:
            return f"{what}, which is not a float", value
    elif param.type == "int":
        try:
            int(value)
        except ValueError:
            return f"{what}, which is not an int", value
    elif param.type in ("path", "uri"):
        if "://" in value:
            if param.type == "path":
                return f"{what}: a path parameter takes a local file or folder; declare it as uri for a URI", value
            return None, value
        local = (base / value).resolve()
        if not local.exists():
            return f"{what} ({param.type}), but no such file or directory {local} exists", value
        return None, str(local)
    return None, value


def resolve_parameters(
    declared: Mapping[str, Parameter], given: Mapping[str, str], cwd: Path, project_dir: Path
) -> tuple[dict[str, str], dict[str, str]]:
    """(declared values checked and converted, the given names the entry point does not declare).

    Raises one `InvalidInput` naming every bad or missing parameter, so a typo is found before a
    run is created or a command started."""
    problems: list[str] = []
    values: dict[str, str] = {}
    for name, param in declared.items():
        if name in given:
            value, base = str(given[name]), cwd
        elif param.default is not None:
            value, base = param.default, project_dir
        else:
            problems.append(f"parameter {name!r} ({param.type}) is missing and has no default")
            continue
        problem, values[name] = _checked(param, value, base)
        if problem:
            problems.append(problem)
    if problems:
        raise InvalidInput("; ".join(problems))
    extra = {str(k): str(v) for k, v in given.items() if k not in declared}
    return values, extra


def render_command(command: str, values: Mapping[str, str], extra: Mapping[str, str]) -> str:
    """`command` with `{name}` replaced by the shell-quoted value, then `--name value` for each
    parameter the entry point does not declare, as MLflow builds it."""
    try:
        rendered = command.format(**{k: shlex.quote(v) for k, v in values.items()})
    except (KeyError, IndexError) as exc:
        raise InvalidInput(f"command {command!r} uses {{{exc.args[0]}}}, which is not a declared parameter") from None
    except ValueError as exc:
        raise InvalidInput(f"command {command!r} is not a valid template: {exc}") from None
    tail = "".join(f" --{shlex.quote(k)} {shlex.quote(v)}" for k, v in extra.items())
    return rendered + tail


__all__ = ["PARAMETER_TYPES", "Parameter", "render_command", "resolve_parameters"]
