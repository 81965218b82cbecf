"""Build a census directory for a data-driven case: the base census with the case's files.

A case directory under tests/fixtures/census/ (or tests/fixtures/plan/) holds whole census files
that replace the base's, `case.yml` (optional: `_remove: [file, ...]`, and `_make: {name: kind}`
for entries git cannot keep, see `MAKE`) and `expected.yml`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ruamel.yaml import YAML

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
BASE = FIXTURES / "census" / "base"
META = {"case.yml", "expected.yml"}


def read_yaml(path: Path) -> dict:
    if not path.exists():
        return {}
    return YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}


#: kinds of `_make` entries: what census_cases.build puts at the name
MAKE = ("symlink-loop", "dangling-symlink", "directory", "fifo", "unreadable", "nested <depth>")


def make(path: Path, kind: str) -> None:
    """Create a census entry of `kind` (see MAKE) at `path`."""
    if kind == "symlink-loop":
        path.symlink_to(path.name)
    elif kind == "dangling-symlink":
        path.symlink_to(path.name + ".missing")
    elif kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "unreadable":  # root still reads it: the test makes its open fail then
        path.write_text("department: {id: locked}\n", encoding="utf-8")
        path.chmod(0)
    elif kind.startswith("nested "):
        depth = int(kind.split()[1])
        path.write_text("department: " + "[" * depth + "]" * depth + "\n", encoding="utf-8")
    else:
        raise ValueError(f"unknown _make kind {kind!r}; use one of {MAKE}")


def made(case: Path) -> dict[str, str]:
    """The `_make` entries of a case: name -> kind."""
    return dict(read_yaml(case / "case.yml").get("_make", {}))


def cases(kind: str) -> list[Path]:
    root = FIXTURES / kind
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name != "base")


def build(case: Path, dest: Path) -> Path:
    """Copy base + case files into dest/census; return that directory."""
    out = dest / "census"
    shutil.copytree(BASE, out)
    for name in read_yaml(case / "case.yml").get("_remove", []):
        (out / name).unlink()
    for f in case.iterdir():
        if f.name not in META and f.is_file():
            shutil.copy(f, out / f.name)
    for name, kind in made(case).items():
        make(out / name, kind)
    return out
