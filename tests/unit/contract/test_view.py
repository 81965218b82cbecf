"""The read-only view of the ledger reads what `Ledger` writes and never creates anything."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from onecloud.contract import Ledger, LedgerView
from onecloud.contract._ledger import public_url
from onecloud.errors import UsageError


def _write(path: Path) -> list:
    led = Ledger.open(path)
    try:
        led.ensure_system("b-app", stack="lab", wave=2)
        led.ensure_system("a-app", stack="lab", wave=1)
        led.set_state("a-app", "frozen")
        led.mark_freeze_start("a-app", "2026-11-27T10:00:00.000Z")
        led.mark_serving("a-app", "2026-11-27T10:01:30.000Z")
        led.set_state("a-app", "completed")
        led.set_state("b-app", "presynced", rollback_pending=True, last_error="rsync 23")
        return led.systems()
    finally:
        led.close()


def test_view_reads_what_the_ledger_writes(tmp_path: Path) -> None:
    db = tmp_path / "ledger.sqlite"
    written = _write(db)
    view = LedgerView.read(db)
    assert (view.status, view.source) == ("read", f"ledger {db}")
    assert list(view.records) == written
    a, b = view.records
    assert (a.system_id, a.state, a.wave, a.downtime_seconds, a.failed) == (
        "a-app",
        "completed",
        1,
        90.0,
        False,
    )
    assert (b.state, b.last_error, b.rollback_pending, b.failed) == (
        "presynced",
        "rsync 23",
        True,
        True,
    )
    assert a.updated_at.endswith("Z")
    assert view.system("b-app") == b and view.system("nope") is None
    assert view.systems(2) == [b] and view.by_id() == {"a-app": a, "b-app": b}
    assert LedgerView.read(f"sqlite://{db}").records == view.records


def test_view_reads_while_a_runner_holds_the_ledger(tmp_path: Path) -> None:
    db = tmp_path / "ledger.sqlite"
    led = Ledger.open(db)
    try:
        led.acquire("wave:1", "run-1")
        led.ensure_system("a-app", stack="lab", wave=1)
        led.set_state("a-app", "synced")
        rec = LedgerView.read(db).system("a-app")
        assert rec is not None and rec.state == "synced"
        held = led.lock("wave:1")
        assert held is not None and held.run_id == "run-1"  # the view took no lock
        led.set_state("a-app", "frozen")  # and leaves the writer free to write
    finally:
        led.close()
    assert [r.state for r in LedgerView.read(db).records] == ["frozen"]


def test_view_never_writes(tmp_path: Path) -> None:
    db = tmp_path / "ledger.sqlite"
    _write(db)
    before = db.read_bytes()
    LedgerView.read(db)
    assert db.read_bytes() == before


def test_missing_ledger_is_an_empty_view_and_stays_missing(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "absent.sqlite"
    view = LedgerView.read(db)
    assert (view.status, view.records, view.systems()) == ("missing", (), [])
    assert view.source == f"no ledger at {db} (nothing migrated yet)"
    assert not db.exists() and not db.parent.exists()


def test_empty_and_unreadable_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    view = LedgerView.read(empty)
    assert (view.status, view.source) == ("empty", f"ledger {empty} has no migration tables yet")
    junk = tmp_path / "junk.sqlite"
    junk.write_text("this is not a database\n" * 200, encoding="utf-8")
    view = LedgerView.read(junk)
    assert view.status == "unreadable" and view.records == ()
    assert view.source.startswith(f"ledger {junk} unreadable (")


def test_target_resolves_like_ledger_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    monkeypatch.setenv("ONECLOUD_STATE_DIR", str(state))
    monkeypatch.delenv("ONECLOUD_LEDGER", raising=False)
    assert LedgerView.read().where == str(state / "ledger.sqlite")
    assert not state.exists()
    db = tmp_path / "env.sqlite"
    _write(db)
    monkeypatch.setenv("ONECLOUD_LEDGER", str(db))
    assert LedgerView.read().where == str(db)
    assert len(LedgerView.read().records) == 2
    assert LedgerView.read(tmp_path / "x.sqlite").where == str(tmp_path / "x.sqlite")


def test_postgres_url_needs_psycopg_and_hides_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql://u:secret@db.example:5432/onecloud?sslmode=require"
    assert public_url(url) == "postgresql://u:***@db.example:5432/onecloud?sslmode=require"
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if not installed
    with pytest.raises(UsageError, match="psycopg is not installed") as err:
        LedgerView.read(url)
    assert "secret" not in str(err.value)
