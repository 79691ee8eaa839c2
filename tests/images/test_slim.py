"""slim.py, the dependency stage's clean-up, on real installed packages (no engine needed)."""

from __future__ import annotations

import ast
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

from shipyard.images import slim


def installed_package(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin is not None, f"{name} is a serve dependency"
    return Path(spec.origin).parent


def section_names(path: Path) -> list[str]:
    elf = slim._parse(path.read_bytes())
    assert elf is not None, f"{path} no longer reads as an ELF shared object"
    return elf.names


def test_a_stripped_extension_still_imports_and_runs(tmp_path: Path) -> None:
    """uvloop ships its extension with a symbol table: stripped, it must load and run a loop."""
    package = tmp_path / "site" / "uvloop"
    shutil.copytree(installed_package("uvloop"), package)
    (extension,) = package.glob("loop*.so")
    before, mode = extension.read_bytes(), extension.stat().st_mode
    assert ".symtab" in section_names(extension)

    saved = slim.strip_file(extension)

    after = extension.read_bytes()
    assert saved == len(before) - len(after) > 0
    names = section_names(extension)
    assert ".symtab" not in names and ".strtab" not in names
    assert {".dynsym", ".dynstr", ".text", ".dynamic"} <= set(names)
    assert slim._parse(after).segments == slim._parse(before).segments
    assert extension.stat().st_mode == mode
    code = (
        f"import asyncio, uvloop; assert uvloop.__file__.startswith({str(package)!r}); "
        "print(uvloop.run(asyncio.sleep(0, result='ran')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path / "site",
        check=True,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(tmp_path / "site")},
    )
    assert out.stdout.strip() == "ran"


def test_files_it_does_not_understand_are_left_byte_for_byte(tmp_path: Path) -> None:
    extension = next(installed_package("uvloop").glob("loop*.so"))
    data = extension.read_bytes()
    stripped = slim.strip_shared_object(data)
    assert stripped is not None
    cases = {
        "text.so": b"not an elf file at all\n",
        "truncated.so": data[:200],
        "already-stripped.so": stripped,
        "elf32.so": b"\x7fELF\x01\x01" + data[6:4096],
        "appended-payload.so": data + b"payload the headers do not describe",
    }
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        assert slim.strip_file(path) == 0, name
        assert path.read_bytes() == content, name


def test_slim_environment_drops_tests_and_build_inputs_keeps_the_rest(tmp_path: Path) -> None:
    env = tmp_path / "venv" / "lib" / "site-packages"
    pkg = env / "pkg"
    (pkg / "tests").mkdir(parents=True)
    (pkg / "tests" / "test_pkg.py").write_text("def test_value(): ...\n")
    (pkg / "include").mkdir()
    (pkg / "include" / "pkg.h").write_text("int f(void);\n")  # torch.compile needs headers
    for name in ("core.pyx", "core.pxd", "defs.pxi", "__init__.pyi"):
        (pkg / name).write_text("# build input\n")
    (pkg / "__init__.py").write_text("VALUE = 1\n")
    (pkg / "py.typed").write_text("")
    extension = pkg / "loop.so"
    shutil.copyfile(next(installed_package("uvloop").glob("loop*.so")), extension)
    (pkg / "link.so").symlink_to(extension)

    report = slim.slim_environment(tmp_path / "venv")

    assert (report.test_dirs, report.build_files, report.stripped) == (1, 4, 1)
    assert report.stripped_bytes > 0 and report.test_bytes > 0 and report.build_bytes > 0
    remaining = sorted(p.relative_to(pkg).as_posix() for p in pkg.rglob("*"))
    assert remaining == ["__init__.py", "include", "include/pkg.h", "link.so", "loop.so", "py.typed"]
    assert "stripped 1 shared objects" in report.summary()
    again = slim.slim_environment(tmp_path / "venv")
    assert (again.test_dirs, again.build_files, again.stripped) == (0, 0, 0)


def test_the_script_runs_on_the_standard_library_alone(tmp_path: Path) -> None:
    """The build runs it with the base image's bare Python: no Shipyard, no third-party import."""
    tree = ast.parse(Path(slim.__file__).read_text())
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    imported |= {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported
    script = tmp_path / "slim.py"
    shutil.copyfile(slim.__file__, script)
    (tmp_path / "env" / "x" / "tests").mkdir(parents=True)
    ok = subprocess.run(
        [sys.executable, "-I", str(script), str(tmp_path / "env")], capture_output=True, text=True, check=True
    )
    assert ok.stdout.startswith("slim: removed 1 test folders")
    assert not (tmp_path / "env" / "x" / "tests").exists()
    bad = subprocess.run([sys.executable, "-I", str(script), str(tmp_path / "missing")], capture_output=True, text=True)
    assert bad.returncode == 2 and "usage" in bad.stderr
