"""The import graph says the architecture of ../shared/design.md: every edge points down, no cycles.

Read with `ast`, never by importing: an edge counts wherever the import is written (module level,
inside a function, or as a "shipyard.x:attr" import string of a plugin table), because an import
string that points upward is the same dependency in disguise. Cycles are counted over the
imports that run when a module is imported (module level, outside `if TYPE_CHECKING:`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIPPED_DIRS = {"tests", "bench", "examples", "docs", ".venv", ".git", "build", "dist"}

BASE = frozenset({"exceptions", "lazy", "mlflow_names", "redact", "settings", "version", "web"})
"""Root modules and folders every part may import: errors, settings, import strings, plumbing."""
FACADES = frozenset(
    {
        "__init__",
        "client",
        "data",
        "entities",
        "keras",
        "lightgbm",
        "model_artifacts",
        "model_logging",
        "models",
        "onnx",
        "paddle",
        "pyfunc",
        "pytorch",
        "sklearn",
        "tensorflow",
        "types",
        "xgboost",
    }
)
"""The training-code facades at the root, where flavors, tracking and the registry meet; the
folders among them (models/, types/, entities/) are MLflow's import paths, re-exporting."""
COMMAND_LINE = frozenset({"cli", "models_cli", "commands"})
"""The command line: the top of the graph, it may import any part (`commands/` is a folder of
MLflow's command groups, one module each)."""

ALLOWED: dict[str, frozenset[str]] = {
    "flavors": frozenset(),
    "tracking": frozenset(),
    "registry": frozenset({"tracking"}),
    "server": frozenset({"registry", "tracking", "flavors"}),
    "runtime": frozenset({"flavors", "registry", "tracking"}),
    "images": frozenset({"runtime", "flavors", "registry", "tracking"}),
    "projects": frozenset({"tracking", "images"}),
    "k8s": frozenset({"images", "runtime", "flavors", "registry", "tracking"}),
    "spark": frozenset({"flavors", "registry", "tracking"}),
    "autologging": frozenset({"facades", "flavors", "tracking", "registry"}),
    "facades": frozenset({"flavors", "tracking", "registry"}),
}
"""Part -> the parts it may import besides itself and BASE (the design's arrows, closed)."""

UPWARD_BY_NAME = frozenset(
    {
        ("shipyard.tracking", "shipyard.client"),
        ("shipyard", "shipyard.autologging"),
        ("shipyard.sklearn", "shipyard.autologging.sklearn"),
        ("shipyard.pytorch", "shipyard.autologging.lightning"),
        ("shipyard.xgboost", "shipyard.autologging.xgboost"),
        ("shipyard.lightgbm", "shipyard.autologging.lightgbm"),
        ("shipyard", "shipyard.projects"),  # `shipyard.projects`, MLflow's `mlflow.projects`
        ("shipyard", "shipyard.projects.launch"),  # `shipyard.run`, MLflow's `mlflow.run`
        ("shipyard.pyfunc", "shipyard.spark.udf"),  # `shipyard.pyfunc.spark_udf`, a lazy name
    }
)
"""(source, target) edges allowed against the direction: MLflow's import path
`mlflow.tracking.MlflowClient` is `shipyard.tracking.MlflowClient`, a lazy name for the root
`shipyard.Client` (tracking plus registry); nothing in tracking calls it. Likewise MLflow's
`mlflow.autolog`, `mlflow.sklearn.autolog` and `mlflow.pytorch.autolog` are re-exports of
autologging's functions; autologging itself reaches the facades only through `model_logging`."""

IMPORT_STRING = re.compile(r"^shipyard(\.\w+)+(:\w+)?$")


@dataclass(frozen=True)
class Edge:
    source: str  # module name, "shipyard.tracking.store"
    target: str
    line: int
    at_import_time: bool


def part_of(module: str) -> str:
    """ "shipyard.tracking.store" -> "tracking"; root modules map to BASE names, facades or cli."""
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    if top in FACADES:
        return "facades"
    if top in COMMAND_LINE:  # before the folder rule: `commands/` is a folder of the command line
        return "cli"
    if (ROOT / top).is_dir() and top not in BASE:
        return top
    if top in COMMAND_LINE:
        return "cli"
    if top in BASE:
        return "base"
    raise AssertionError(f"root module shipyard.{top} has no place in the graph: add it to a table above")


def module_name(path: Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    names = [n for n in relative.parts if n != "__init__"]
    return ".".join(["shipyard", *names])


def module_exists(module: str) -> bool:
    relative = Path(*module.split(".")[1:]) if "." in module else Path("__init__")
    return (ROOT / relative).with_suffix(".py").is_file() or (ROOT / relative / "__init__.py").is_file()


def source_files() -> Iterator[Path]:
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in SKIPPED_DIRS or "migrations" in relative.parts:
            continue
        yield path


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(node: ast.AST, package: str) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:  # relative import: resolve against this module's package
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            module = ".".join([*base, node.module] if node.module else base)
        else:
            module = node.module or ""
        # `from pkg import mod` imports the module pkg.mod; `from mod import name` imports mod.
        return [f"{module}.{a.name}" if module_exists(f"{module}.{a.name}") else module for a in node.names]
    return []


def edges_of(path: Path) -> list[Edge]:
    source = module_name(path)
    package = source if path.name == "__init__.py" else source.rpartition(".")[0]
    return edges_in(path.read_text(), source, package)


def edges_in(text: str, source: str, package: str) -> list[Edge]:
    """The edges of one module's source text (`package`: where its relative imports start)."""
    tree = ast.parse(text)
    found: list[Edge] = []

    def visit(node: ast.AST, at_import_time: bool) -> None:
        for target in _imported(node, package):
            if target.startswith("shipyard"):
                found.append(Edge(source, _known_module(target), getattr(node, "lineno", 0), at_import_time))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and IMPORT_STRING.match(node.value):
            target = node.value.partition(":")[0]
            if module_exists(target):
                found.append(Edge(source, target, node.lineno, False))
        for child in ast.iter_child_nodes(node):
            if (
                isinstance(node, ast.If)
                and _is_type_checking(node)
                or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            ):
                visit(child, False)
            else:
                visit(child, at_import_time)

    visit(tree, True)
    return found


def _known_module(target: str) -> str:
    """`from shipyard.a import b` may name module a.b or attribute b of a: keep the module part."""
    while target != "shipyard" and not module_exists(target):
        target = target.rpartition(".")[0]
    return target


def all_edges() -> list[Edge]:
    return [edge for path in source_files() for edge in edges_of(path)]


def test_every_edge_points_the_way_the_design_draws() -> None:
    wrong = []
    for edge in all_edges():
        source, target = part_of(edge.source), part_of(edge.target)
        if target in ("base", source) or source == "cli" or (edge.source, edge.target) in UPWARD_BY_NAME:
            continue
        if source == "base":
            wrong.append(f"{edge.source}:{edge.line} -> {edge.target} (base modules import only base)")
        elif target not in ALLOWED.get(source, frozenset()):
            wrong.append(f"{edge.source}:{edge.line} -> {edge.target} ({source} may not import {target})")
    assert not wrong, "imports against the stated direction:\n" + "\n".join(wrong)


def test_no_module_level_import_cycle() -> None:
    graph: dict[str, set[str]] = {}
    for edge in all_edges():
        # NOTE: a module importing its own package is no cycle: the package is already importing.
        if edge.at_import_time and not f"{edge.source}.".startswith(f"{edge.target}."):
            graph.setdefault(edge.source, set()).add(edge.target)
    cycle = _find_cycle(graph)
    assert cycle is None, "module-level import cycle: " + " -> ".join(cycle or [])


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Depth-first search; the first back edge found, as the path that closes it."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_server_uses_only_the_flavors_public_names() -> None:
    """`server -> flavors` only through `shipyard.flavors` itself, not its private modules."""
    private = [
        f"{e.source}:{e.line} -> {e.target}"
        for e in all_edges()
        if part_of(e.source) == "server" and e.target.startswith("shipyard.flavors.")
    ]
    assert not private, "server reaches into flavors' modules:\n" + "\n".join(private)


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}}, None),
        ({"a": {"b"}, "b": {"a"}}, ["a", "b", "a"]),
        ({"a": {"b"}, "b": {"c"}, "c": {"b"}}, ["b", "c", "b"]),
    ],
)
def test_cycle_finder(edges: dict[str, set[str]], expected: list[str] | None) -> None:
    assert _find_cycle(edges) == expected


def test_the_checker_sees_upward_import_strings_and_local_imports() -> None:
    """An import string or a function-level import pointing up is an edge, the trap the layout
    issue found; only module-level imports outside TYPE_CHECKING take part in cycles."""
    text = (
        "from typing import TYPE_CHECKING\n"
        "from shipyard.tracking import store\n"
        "if TYPE_CHECKING:\n"
        "    from shipyard.runtime.app import create_app\n"
        'HOOK = "shipyard.registry.client:RegistryClient"\n'
        "def f():\n"
        "    from shipyard.flavors.mlmodel import Model\n"
    )
    edges = {(e.target, e.at_import_time) for e in edges_in(text, "shipyard.tracking.x", "shipyard.tracking")}
    assert edges == {
        ("shipyard.tracking.store", True),
        ("shipyard.runtime.app", False),
        ("shipyard.registry.client", False),
        ("shipyard.flavors.mlmodel", False),
    }
    assert [part_of(t) for t, _ in sorted(edges)] == ["flavors", "registry", "runtime", "tracking"]
