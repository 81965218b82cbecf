"""Build a census directory for a data-driven case: the base census with the case's files.

A case directory under tests/fixtures/census/ (or tests/fixtures/plan/) holds whole census files
that replace the base's, `case.yml` (optional: `_remove: [file, ...]`) and `expected.yml`.
"""

from __future__ import annotations

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
    return out
