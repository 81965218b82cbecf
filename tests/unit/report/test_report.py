"""`onecloud report`: progress from the committed sample plan and a real migration ledger."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from onecloud.cli import main
from onecloud.paths import PROJECT_ROOT
from onecloud.plan._io import load_plan
from onecloud.report._figures import progress
from onecloud.report.ledger import read_states

PLAN = PROJECT_ROOT / "inventory" / "plan.yml"


def _ledger(path: Path) -> None:
    from onecloud.contract._ledger import Ledger

    ledger = Ledger.open(path)
    try:
        ledger.ensure_system("edu-portal", stack="lab", wave=1)
        ledger.set_state("edu-portal", "completed")
        ledger.ensure_system("health-permits", stack="lab", wave=1)
        ledger.set_state(
            "health-permits", "presynced", rollback_pending=True, last_error="rsync 23"
        )
        ledger.ensure_system("civil-ledger", stack="lab", wave=1)
        ledger.set_state("civil-ledger", "frozen")
    finally:
        ledger.close()


def test_without_ledger_everything_waits(tmp_path: Path) -> None:
    states, source = read_states(tmp_path / "absent.sqlite")
    assert states == {} and "no ledger" in source
    p = progress(load_plan(PLAN), states, source)
    assert (p.total.migrate, p.total.waiting, p.total.done) == (3, 3, 0)
    assert (p.total.retired, p.total.consolidated, p.total.retained) == (2, 2, 1)
    assert [r.label for r in p.by_city] == ["province", "foshan"]


def test_states_from_the_migration_ledger(tmp_path: Path) -> None:
    db = tmp_path / "ledger.sqlite"
    _ledger(db)
    states, _ = read_states(db)
    p = progress(load_plan(PLAN), states, "test")
    assert (p.total.done, p.total.failed, p.total.moving, p.total.waiting) == (1, 1, 1, 0)
    assert p.failures == [("health-permits", "presynced", "rsync 23")]
    wave1 = p.by_wave[0]
    assert (wave1.label, wave1.migrate, wave1.done) == ("1", 3, 1)


def test_transitions_log_layout(tmp_path: Path) -> None:
    db = tmp_path / "t.sqlite"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE transitions (system_id, wave, step, outcome, ts)")
    conn.executemany(
        "INSERT INTO transitions VALUES (?, ?, ?, ?, ?)",
        [
            ("edu-portal", 1, "preflighted", "ok", "2026-11-27T10:00:00Z"),
            ("edu-portal", 1, "completed", "ok", "2026-11-27T11:00:00Z"),
            ("civil-ledger", 1, "synced", "failed", "2026-11-27T10:30:00Z"),
        ],
    )
    conn.commit()
    conn.close()
    states, _ = read_states(db)
    assert states["edu-portal"].state == "completed" and not states["edu-portal"].failed
    assert states["civil-ledger"].failed


def test_cli_markdown_and_terminal(tmp_path: Path, capsys, monkeypatch) -> None:
    db = tmp_path / "ledger.sqlite"
    _ledger(db)
    out = tmp_path / "progress.md"
    args = ["report", "--plan", str(PLAN), "--ledger", str(db)]
    assert main([*args, "--format", "md", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "| 教育厅 | 1 | 1 | 0 | 0 | 0 | 100 |" in text
    assert "| health-permits | presynced | rsync 23 |" in text
    assert main(args) == 0
    assert "By department" in capsys.readouterr().out
    assert main([*args, "--format", "html"]) == 2
    monkeypatch.setenv("ONECLOUD_STATE_DIR", str(tmp_path / "none"))
    assert main(["report", "--plan", str(tmp_path / "missing.yml")]) == 3
