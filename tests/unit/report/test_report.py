"""`onecloud report`: progress from the committed sample plan and a real migration ledger."""

from __future__ import annotations

from pathlib import Path

from onecloud.cli import main
from onecloud.contract import Ledger, LedgerView
from onecloud.paths import PROJECT_ROOT
from onecloud.plan._io import load_plan
from onecloud.report._figures import progress

PLAN = PROJECT_ROOT / "inventory" / "plan.yml"


def _ledger(path: Path) -> None:
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
    view = LedgerView.read(tmp_path / "absent.sqlite")
    assert view.records == () and "no ledger" in view.source
    p = progress(load_plan(PLAN), view)
    assert p.source == f"no ledger at {tmp_path / 'absent.sqlite'} (nothing migrated yet)"
    assert (p.total.migrate, p.total.waiting, p.total.done) == (3, 3, 0)
    assert (p.total.retire_planned, p.total.retired) == (2, 0)  # planned apart from done
    assert (p.total.consolidated, p.total.retained) == (2, 1)
    assert [r.label for r in p.by_city] == ["province", "foshan"]


def test_states_from_the_migration_ledger(tmp_path: Path) -> None:
    db = tmp_path / "ledger.sqlite"
    _ledger(db)
    p = progress(load_plan(PLAN), LedgerView.read(db))
    assert p.source == f"ledger {db}"
    assert (p.total.done, p.total.failed, p.total.moving, p.total.waiting) == (1, 1, 1, 0)
    assert p.failures == [("health-permits", "presynced", "rsync 23")]
    wave1 = p.by_wave[0]
    assert (wave1.label, wave1.migrate, wave1.done) == ("1", 3, 1)


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
    assert main([*args, "--format", "pdf"]) == 2
    monkeypatch.setenv("ONECLOUD_STATE_DIR", str(tmp_path / "none"))
    assert main(["report", "--plan", str(tmp_path / "missing.yml")]) == 3


def test_cli_finds_the_ledger_like_migrate(tmp_path: Path, capsys, monkeypatch) -> None:
    state = tmp_path / "state"
    monkeypatch.setenv("ONECLOUD_STATE_DIR", str(state))
    monkeypatch.delenv("ONECLOUD_LEDGER", raising=False)
    md = ["report", "--plan", str(PLAN), "--format", "md"]
    assert main(md) == 0  # the default file, absent: the plan only, nothing created
    assert f"States from no ledger at {state / 'ledger.sqlite'}" in capsys.readouterr().out
    assert not state.exists()
    db = tmp_path / "shared.sqlite"
    _ledger(db)
    monkeypatch.setenv("ONECLOUD_LEDGER", f"sqlite://{db}")
    assert main(md) == 0
    text = capsys.readouterr().out
    assert f"States from ledger {db}." in text and "| health-permits | presynced |" in text
    assert main([*md, "--ledger", str(tmp_path / "other.sqlite")]) == 0  # --ledger wins
    assert "States from no ledger at" in capsys.readouterr().out
