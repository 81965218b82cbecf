"""Data-driven census cases: tests/fixtures/census/<case>/ in, the exact problems out."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from census_cases import BASE, build, cases, made, read_yaml

from onecloud.census import _loader
from onecloud.census._loader import load_census
from onecloud.errors import CensusError

CASES = cases("census")


def deny_unreadable(census_dir: Path, names: list[str], monkeypatch) -> None:
    """Root reads a file of mode 000: make its open fail as it does for everyone else."""
    if os.geteuid() != 0 or not names:
        return
    locked = {os.path.abspath(census_dir / n) for n in names}
    real_open = os.open

    def fake_open(path, flags, *args, **kwargs):
        if os.path.abspath(path) in locked:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(_loader.os, "open", fake_open)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_reports_every_problem(case: Path, tmp_path: Path, monkeypatch) -> None:
    expected = read_yaml(case / "expected.yml")["errors"]
    census_dir = build(case, tmp_path)
    unreadable = [n for n, kind in made(case).items() if kind == "unreadable"]
    deny_unreadable(census_dir, unreadable, monkeypatch)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CensusError) as info:
        load_census(census_dir.name)
    problems = [p.removeprefix("census/") for p in info.value.problems]
    assert problems == expected
    assert info.value.exit_code == 3
    for p in info.value.problems:  # every problem says where, what and how to fix it
        assert p.startswith("census")
        assert "; " in p


def test_base_census_is_valid() -> None:
    census = load_census(BASE)
    assert sorted(s.id for s in census.systems) == ["c-ledger", "p-portal", "p-records"]
    assert census.system_department["c-ledger"] == "county"
    assert census.origins["c-ledger"].endswith("dept-county.yml:9")


def test_digest_changes_with_any_byte(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(BASE, tmp_path / "c")
    first = load_census(tmp_path / "c").digest
    f = tmp_path / "c" / "dept-prov.yml"
    f.write_text(f.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert load_census(tmp_path / "c").digest != first


def test_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    from onecloud.errors import UsageError

    with pytest.raises(UsageError, match="does not exist"):
        load_census(tmp_path / "nope")
