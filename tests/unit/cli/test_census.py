"""`onecloud census check|generate` through the real entry point (exit codes, messages)."""

from __future__ import annotations

import shutil
from pathlib import Path

from census_cases import BASE, FIXTURES

from onecloud.cli import main


def test_check_ok(capsys) -> None:
    assert main(["census", "check", str(BASE)]) == 0
    out = capsys.readouterr().out
    assert "census ok" in out and "3 systems" in out


def test_check_reports_problems_with_exit_3(tmp_path: Path, capsys, monkeypatch) -> None:
    shutil.copytree(BASE, tmp_path / "census")
    shutil.copy(FIXTURES / "census" / "unknown-refs" / "dept-county.yml", tmp_path / "census")
    monkeypatch.chdir(tmp_path)
    assert main(["census", "check", "census"]) == 3
    err = capsys.readouterr().err
    assert "census/dept-county.yml:7: unknown machine room `room-cc`" in err
    assert "Traceback" not in err


def test_generate_is_seeded_and_checks_clean(tmp_path: Path, capsys) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["census", "generate", "--systems", "120", "--seed", "7", str(a)]) == 0
    assert main(["census", "generate", "--systems", "120", "--seed", "7", str(b)]) == 0
    files = sorted(p.name for p in a.iterdir())
    assert files == sorted(p.name for p in b.iterdir())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    assert main(["census", "check", str(a)]) == 0
    # refuses to overwrite without --force
    assert main(["census", "generate", "--systems", "10", str(a)]) == 2
    assert "--force" in capsys.readouterr().err
