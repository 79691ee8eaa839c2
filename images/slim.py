"""Shrink an installed environment to what serving reads; run inside the image build.

Why: a model image's size is mostly its Python dependencies, and their wheels carry files a server
never opens: test suites, Cython sources, type stubs, and the symbol tables and debug sections of
shared libraries (the dynamic loader reads only `.dynsym`; `.symtab` and `.debug_*` are for
debuggers). Dropping those is what `strip` does, but slim base images have no binutils and an
offline (`--wheelhouse`) build cannot install them, so the ELF part is done here, with the standard
library only. This file is copied into the build context and run by the base image's Python:

    python3 slim.py /opt/shipyard

NOTE: conservative on purpose. A file is rewritten only when it is a 64-bit little-endian ELF
shared object and nothing it keeps refers to what it drops. Every byte the loader maps stays where
it was: only the section header table, and unloaded sections lying after the last mapped byte,
move. The result is re-read and compared before it atomically replaces the original; a file this
code does not understand is left exactly as it was.
"""

from __future__ import annotations

import os
import shutil
import stat
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

# What serving never reads: Cython sources and declarations, and type stubs. (C headers stay:
# torch.compile builds C++ against them at run time.)
BUILD_ONLY_SUFFIXES = frozenset({".pyx", ".pxd", ".pxi", ".pyi"})
TEST_DIR_NAME = "tests"

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_PHDR = struct.Struct("<IIQQQQQQ")
_SHDR = struct.Struct("<IIQQQQIIQQ")
_ELF64_LSB = b"\x7fELF\x02\x01"
_ET_DYN = 3
_SHT_RELA, _SHT_NOBITS, _SHT_REL = 4, 8, 9
_SHF_ALLOC, _SHF_INFO_LINK = 0x2, 0x40
_DROPPED_NAMES = frozenset({".symtab", ".strtab", ".symtab_shndx"})
_DROPPED_PREFIXES = (".debug", ".zdebug")


@dataclass(frozen=True)
class _Section:
    name_offset: int
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    info: int
    addralign: int
    entsize: int

    @property
    def in_file(self) -> bool:
        return self.type != _SHT_NOBITS and self.size > 0

    @property
    def end(self) -> int:
        return self.offset + (self.size if self.type != _SHT_NOBITS else 0)

    @property
    def info_is_index(self) -> bool:
        return self.type in (_SHT_REL, _SHT_RELA) and bool(self.flags & _SHF_INFO_LINK)


@dataclass(frozen=True)
class _Elf:
    header: tuple[int, ...]
    segments: list[tuple[int, int]]  # (file offset, file size) of every program header
    sections: list[_Section]
    names: list[str]

    # NOTE: indexes into the ELF header tuple, in _EHDR's field order.
    @property
    def phoff(self) -> int:
        return self.header[5]

    @property
    def shoff(self) -> int:
        return self.header[6]

    @property
    def ehsize(self) -> int:
        return self.header[8]

    @property
    def phnum(self) -> int:
        return self.header[10]

    @property
    def shstrndx(self) -> int:
        return self.header[13]


def _parse(data: bytes) -> _Elf | None:
    """The headers of a 64-bit little-endian ELF shared object; None for anything else."""
    if len(data) < _EHDR.size or not data.startswith(_ELF64_LSB):
        return None
    header = _EHDR.unpack_from(data)
    e_type, phoff, shoff = header[1], header[5], header[6]
    phentsize, phnum, shentsize, shnum, shstrndx = header[9:14]
    if (
        e_type != _ET_DYN
        or phentsize != _PHDR.size
        or shentsize != _SHDR.size
        or shnum == 0
        or not 0 < shstrndx < shnum
        or phoff + phnum * _PHDR.size > len(data)
        or shoff + shnum * _SHDR.size > len(data)
    ):
        return None
    segments = []
    for i in range(phnum):
        p = _PHDR.unpack_from(data, phoff + i * _PHDR.size)
        segments.append((p[2], p[5]))
    sections = [_Section(*_SHDR.unpack_from(data, shoff + i * _SHDR.size)) for i in range(shnum)]
    if any(s.in_file and s.end > len(data) for s in sections):
        return None
    strtab = sections[shstrndx]
    table = data[strtab.offset : strtab.end]
    names = []
    for s in sections:
        end = table.find(b"\0", s.name_offset)
        names.append(table[s.name_offset : end].decode("latin-1") if end >= 0 else "")
    return _Elf(header, segments, sections, names)


def _droppable(elf: _Elf, index: int) -> bool:
    section, name = elf.sections[index], elf.names[index]
    if index in (0, elf.shstrndx) or section.flags & _SHF_ALLOC:
        return False
    return name in _DROPPED_NAMES or name.startswith(_DROPPED_PREFIXES)


def strip_shared_object(data: bytes) -> bytes | None:
    """`data` without its symbol table and debug sections; None when it is left as it is."""
    elf = _parse(data)
    if elf is None:
        return None
    count = len(elf.sections)
    dropped = {i for i in range(count) if _droppable(elf, i)}
    if not dropped:
        return None
    kept = [i for i in range(count) if i not in dropped]
    for i in kept:
        s = elf.sections[i]
        if s.link in dropped or s.link >= count or (s.info_is_index and s.info in dropped):
            return None  # something kept points at what would go: not ours to fix
    known_end = max(
        [elf.ehsize, elf.shoff + count * _SHDR.size] + [o + n for o, n in elf.segments] + [s.end for s in elf.sections]
    )
    if known_end != len(data):
        return None  # bytes no header accounts for (an appended payload): leave the file alone

    # Everything mapped, both header tables' prefix and every kept loaded section stay in place.
    cut = max(
        [elf.ehsize, elf.phoff + elf.phnum * _PHDR.size]
        + [o + n for o, n in elf.segments]
        + [elf.sections[i].end for i in kept if elf.sections[i].flags & _SHF_ALLOC]
    )
    moved: list[int] = []
    for i in sorted(kept, key=lambda k: elf.sections[k].offset):
        s = elf.sections[i]
        if not s.in_file:
            continue
        if s.offset < cut:
            cut = max(cut, s.end)
        else:
            moved.append(i)

    out = bytearray(data[:cut])
    new_offset: dict[int, int] = {}
    for i in moved:
        s = elf.sections[i]
        out += b"\0" * (-len(out) % max(s.addralign, 1))
        new_offset[i] = len(out)
        out += data[s.offset : s.end]
    out += b"\0" * (-len(out) % 8)
    new_shoff = len(out)
    renumber = {old: new for new, old in enumerate(kept)}
    for i in kept:
        s = elf.sections[i]
        out += _SHDR.pack(
            s.name_offset,
            s.type,
            s.flags,
            s.addr,
            new_offset.get(i, s.offset),
            s.size,
            renumber[s.link] if s.link else 0,
            renumber[s.info] if s.info_is_index else s.info,
            s.addralign,
            s.entsize,
        )
    fields = list(elf.header)
    fields[6], fields[12], fields[13] = new_shoff, len(kept), renumber[elf.shstrndx]
    _EHDR.pack_into(out, 0, *fields)
    result = bytes(out)
    return result if _same_content(data, result, elf, kept, cut) else None


def _same_content(old: bytes, new: bytes, elf: _Elf, kept: list[int], cut: int) -> bool:
    """Re-read the result: mapped bytes unchanged, every kept section's bytes unchanged."""
    parsed = _parse(new)
    if parsed is None or len(parsed.sections) != len(kept) or parsed.segments != elf.segments:
        return False
    if new[_EHDR.size : cut] != old[_EHDR.size : cut]:
        return False
    for new_index, old_index in enumerate(kept):
        a, b = elf.sections[old_index], parsed.sections[new_index]
        if parsed.names[new_index] != elf.names[old_index] or a.size != b.size:
            return False
        if a.in_file and old[a.offset : a.end] != new[b.offset : b.end]:
            return False
    return True


def is_shared_object_name(name: str) -> bool:
    return name.endswith(".so") or ".so." in name


def strip_file(path: Path) -> int:
    """Strip one shared object in place (atomically, mode kept); the bytes saved, 0 if untouched."""
    data = path.read_bytes()
    stripped = strip_shared_object(data)
    if stripped is None or len(stripped) >= len(data):
        return 0
    tmp = path.with_name(path.name + ".slim-tmp")
    tmp.write_bytes(stripped)
    os.chmod(tmp, stat.S_IMODE(path.lstat().st_mode))
    os.replace(tmp, path)
    return len(data) - len(stripped)


@dataclass
class SlimReport:
    test_dirs: int = 0
    test_bytes: int = 0
    build_files: int = 0
    build_bytes: int = 0
    stripped: int = 0
    stripped_bytes: int = 0

    def summary(self) -> str:
        mb = 1e6
        return (
            f"slim: removed {self.test_dirs} test folders ({self.test_bytes / mb:.1f} MB) and "
            f"{self.build_files} build-only files ({self.build_bytes / mb:.1f} MB); stripped "
            f"{self.stripped} shared objects ({self.stripped_bytes / mb:.1f} MB)"
        )


def _tree_size(root: Path) -> int:
    return sum(p.lstat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def slim_environment(root: Path) -> SlimReport:
    """Drop test suites and build-only files under `root` and strip its shared objects."""
    report = SlimReport()
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if TEST_DIR_NAME in dirnames:
            dirnames.remove(TEST_DIR_NAME)
            report.test_dirs += 1
            report.test_bytes += _tree_size(here / TEST_DIR_NAME)
            shutil.rmtree(here / TEST_DIR_NAME)
        for name in filenames:
            path = here / name
            if path.is_symlink():
                continue
            if path.suffix in BUILD_ONLY_SUFFIXES:
                report.build_files += 1
                report.build_bytes += path.lstat().st_size
                path.unlink()
            elif is_shared_object_name(name):
                saved = strip_file(path)
                report.stripped += bool(saved)
                report.stripped_bytes += saved
    return report


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print("usage: python3 slim.py ENVIRONMENT_DIR", file=sys.stderr)
        return 2
    print(slim_environment(Path(argv[0])).summary())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
