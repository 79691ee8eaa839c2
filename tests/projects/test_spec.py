"""The MLproject file and typed parameters: read as MLflow reads them, every value checked before
anything runs, the error naming the parameter, the value and the type."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from shipyard.exceptions import InvalidInput
from shipyard.projects import load_project
from shipyard.projects.params import render_command, resolve_parameters


def write(root: Path, mlproject: str | None, **files: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    if mlproject is not None:
        (root / "MLproject").write_text(mlproject)
    for name, text in files.items():
        (root / name).write_text(text)
    return root


MLPROJECT = """\
name: demo
entry_points:
  main:
    parameters:
      alpha: float
      epochs: {type: int, default: 5}
      name: {type: string, default: "a b"}
      data: path
      model: {type: uri, default: "s3://bucket/m"}
    command: "python train.py {alpha} {epochs} {name} {data} {model}"
"""


def test_short_and_long_parameter_forms_and_defaults(tmp_path: Path) -> None:
    project = load_project(write(tmp_path / "p", MLPROJECT))
    params = project.entry_point("main").parameters
    assert project.name == "demo"
    assert {k: (p.type, p.default) for k, p in params.items()} == {
        "alpha": ("float", None),
        "epochs": ("int", "5"),
        "name": ("string", "a b"),
        "data": ("path", None),
        "model": ("uri", "s3://bucket/m"),
    }


def test_values_are_substituted_shell_quoted_and_undeclared_ones_appended(tmp_path: Path) -> None:
    root = write(tmp_path / "p", MLPROJECT)
    (tmp_path / "my data.csv").write_text("x")
    entry = load_project(root).entry_point("main")
    values, extra = resolve_parameters(
        entry.parameters, {"alpha": "0.5", "data": "my data.csv", "lr": "1e-3; rm -rf /"}, tmp_path, root
    )
    command = render_command(entry.command, values, extra)
    assert shlex.split(command) == [
        "python", "train.py", "0.5", "5", "a b", str(tmp_path / "my data.csv"), "s3://bucket/m",
        "--lr", "1e-3; rm -rf /",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"alpha": "0.1x", "data": "."}, "parameter 'alpha' got '0.1x', which is not a float"),
        ({"alpha": "1", "data": ".", "epochs": "2.5"}, "parameter 'epochs' got '2.5', which is not an int"),
        ({"data": "."}, "parameter 'alpha' (float) is missing and has no default"),
        ({"alpha": "1", "data": "nope.csv"}, "parameter 'data' got 'nope.csv' (path), but no such file or directory"),
        ({"alpha": "1", "data": "s3://b/k"}, "parameter 'data' got 's3://b/k': a path parameter takes a local file"),
    ],
)
def test_bad_values_are_refused_naming_parameter_value_and_type(
    tmp_path: Path, given: dict[str, str], message: str
) -> None:
    root = write(tmp_path / "p", MLPROJECT)
    entry = load_project(root).entry_point("main")
    with pytest.raises(InvalidInput) as caught:
        resolve_parameters(entry.parameters, given, tmp_path, root)
    assert message in str(caught.value)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    root = write(tmp_path / "p", MLPROJECT)
    entry = load_project(root).entry_point("main")
    with pytest.raises(InvalidInput) as caught:
        resolve_parameters(entry.parameters, {"alpha": "x", "epochs": "y"}, tmp_path, root)
    text = str(caught.value)
    assert "'alpha' got 'x'" in text and "'epochs' got 'y'" in text and "'data' (path) is missing" in text


def test_a_folder_without_mlproject_runs_a_script_named_as_entry_point(tmp_path: Path) -> None:
    root = write(tmp_path / "p", None, **{"train.py": "", "go.sh": "", "python_env.yaml": 'python: "3.11"\n'})
    project = load_project(root)
    assert project.entry_points == {}
    assert project.python_env == root / "python_env.yaml"
    assert project.entry_point("train.py").command == "python train.py"
    assert project.entry_point("go.sh").command == "bash go.sh"
    values, extra = resolve_parameters({}, {"alpha": "0.3"}, tmp_path, root)
    assert render_command(project.entry_point("train.py").command, values, extra) == "python train.py --alpha 0.3"
    with pytest.raises(InvalidInput, match="'main' is neither one of the project's entry points .none. nor a runnable"):
        project.entry_point("main")
    with pytest.raises(InvalidInput, match="no such file in the project"):
        project.entry_point("missing.py")


def test_environment_named_or_found(tmp_path: Path) -> None:
    named = write(tmp_path / "a", "python_env: env/p.yaml\nentry_points: {}\n")
    (named / "env").mkdir()
    (named / "env" / "p.yaml").write_text('python: "3.11"\n')
    assert load_project(named).python_env == named / "env" / "p.yaml"
    found = write(tmp_path / "b", "entry_points: {}\n", **{"conda.yaml": "dependencies: []\n"})
    assert load_project(found).conda_env == found / "conda.yaml"
    docker = write(
        tmp_path / "c",
        "docker_env:\n  image: python:3.11-slim\n  volumes: ['/a:/b']\n  environment: [HOME, [X, '1']]\n",
    )
    env = load_project(docker).docker_env
    assert env is not None and (env.image, env.volumes, env.environment) == (
        "python:3.11-slim",
        ("/a:/b",),
        ("HOME", ("X", "1")),
    )


@pytest.mark.parametrize(
    ("mlproject", "message"),
    [
        ("python_env: missing.yaml\n", "python_env file 'missing.yaml' does not exist"),
        ("python_env: a.yaml\nconda_env: b.yaml\n", "name one environment, not python_env and conda_env"),
        ("entry_points:\n  main: {parameters: {a: decimal}, command: x}\n", "parameter 'a' has type 'decimal'"),
        ("entry_points:\n  main: {parameters: {}}\n", "entry point 'main' needs a command string"),
        ("docker_env: {volumes: []}\n", "docker_env must be a mapping with an image"),
        ("entry_points: [a]\n", "entry_points must be a mapping"),
        (": : :\n", "is not valid YAML"),
    ],
)
def test_a_bad_mlproject_is_a_clear_error(tmp_path: Path, mlproject: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_project(write(tmp_path / "p", mlproject))


def test_a_command_naming_an_undeclared_parameter_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"uses \{beta\}, which is not a declared parameter"):
        render_command("python t.py {beta}", {"alpha": "1"}, {})
