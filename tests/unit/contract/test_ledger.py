import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from onecloud.contract._ledger import SCHEMA, Ledger
from onecloud.errors import MigrationError


@pytest.fixture()
def ledger(tmp_path: Path):
    led = Ledger.open(tmp_path / "ledger.sqlite")
    yield led
    led.close()


def test_schema_is_portable_sql() -> None:
    text = "\n".join(SCHEMA).upper()
    for sqlite_only in ("AUTOINCREMENT", "WITHOUT ROWID", "DATETIME", "BLOB", "PRAGMA"):
        assert sqlite_only not in text
    types = set(re.findall(r"\b(VARCHAR|TEXT|INTEGER|DOUBLE PRECISION|REAL|BOOLEAN)\b", text))
    assert types <= {"VARCHAR", "TEXT", "INTEGER", "DOUBLE PRECISION"}


def test_systems_states_and_errors(ledger: Ledger) -> None:
    rec = ledger.ensure_system("a", stack="lab", wave=1)
    assert rec.state == "planned"
    ledger.set_state("a", "presynced", last_error="boom")
    again = ledger.ensure_system("a", stack="lab", wave=1)  # does not reset
    assert again.state == "presynced" and again.last_error == "boom"
    ledger.set_state("a", "frozen", clear_error=True, rollback_pending=True)
    rec = ledger.system("a")
    assert rec is not None and rec.last_error is None and rec.rollback_pending
    assert [r.system_id for r in ledger.systems(1)] == ["a"]
    assert ledger.systems(2) == []
    with pytest.raises(ValueError):
        ledger.set_state("a", "bogus")  # type: ignore[arg-type]


def test_events_are_an_audit_trail(ledger: Ledger) -> None:
    ledger.ensure_system("a", stack="lab", wave=1)
    eid = ledger.record("a", "presync", "started", run_id="r1", state_before="preflighted")
    ledger.finish(eid, "failed", host="t1", task="Copy", detail="No space left on device")
    ev = ledger.events("a")
    assert len(ev) == 1
    assert (ev[0].outcome, ev[0].host, ev[0].task) == ("failed", "t1", "Copy")
    assert ev[0].finished_at and ev[0].finished_at.endswith("Z")


def test_close_interrupted_marks_open_events_of_dead_runs(ledger: Ledger) -> None:
    ledger.ensure_system("a", stack="lab", wave=1)
    ledger.record("a", "switch", "started", run_id="old")
    mine = ledger.record("a", "verify", "started", run_id="new")
    assert ledger.close_interrupted("new") == 1
    by_id = {e.event_id: e for e in ledger.events("a")}
    assert by_id[mine].outcome == "started"
    assert sorted(e.outcome for e in by_id.values()) == ["interrupted", "started"]


def test_downtime_from_freeze_to_serving(ledger: Ledger) -> None:
    ledger.ensure_system("a", stack="lab", wave=1)
    ledger.mark_freeze_start("a", "2026-01-01T00:00:00.000Z")
    assert ledger.mark_serving("a", "2026-01-01T00:00:07.500Z") == 7.5
    rec = ledger.system("a")
    assert rec is not None and rec.downtime_seconds == 7.5


def test_second_runner_on_a_wave_refuses(ledger: Ledger, tmp_path: Path) -> None:
    assert ledger.acquire("wave:1", "run-a") is None
    other = Ledger.open(tmp_path / "ledger.sqlite")
    try:
        with pytest.raises(MigrationError, match="being migrated by another runner"):
            other.acquire("wave:1", "run-b")
        assert other.acquire("wave:2", "run-b") is None  # another wave is free
    finally:
        other.close()
    ledger.release("wave:1", "run-a", "ok")
    assert ledger.lock("wave:1") is None


def test_lock_of_a_killed_runner_is_taken_over(ledger: Ledger) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    ledger.acquire("wave:1", "run-dead")
    # rewrite the holder's pid to the dead process (as if that runner had been killed)
    with ledger._tx() as cur:
        cur.execute("UPDATE migration_locks SET pid = ? WHERE lock_name = ?", (dead.pid, "wave:1"))
    stale = ledger.acquire("wave:1", "run-new")
    assert stale is not None and stale.run_id == "run-dead"
    held = ledger.lock("wave:1")
    assert held is not None and held.run_id == "run-new" and held.pid == os.getpid()


def test_manifests_upsert(ledger: Ledger) -> None:
    ledger.put_manifest("a", "src", "tree", "presync", "d1")
    ledger.put_manifest("a", "src", "tree", "presync", "d2")
    assert ledger.manifests("a", "tree") == {("src", "tree", "presync"): "d2"}
    assert ledger.manifests("b") == {}


def test_unopenable_ledger_is_a_usage_error(tmp_path: Path) -> None:
    from onecloud.errors import UsageError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UsageError, match="cannot open the migration ledger"):
        Ledger.open(blocker / "sub" / "ledger.sqlite")


def test_events_keep_their_order_within_a_millisecond(ledger: Ledger) -> None:
    ledger.ensure_system("a", stack="lab", wave=1)
    steps = ["preflight", "presync", "freeze", "sync", "switch", "verify", "complete"]
    for step in steps:
        ledger.record("a", step, "ok", started_at="2026-01-01T00:00:00.000Z")
    assert [e.step for e in ledger.events("a")] == steps


def test_a_version_1_ledger_is_upgraded(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE ledger_meta (name VARCHAR(64) PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("INSERT INTO ledger_meta VALUES ('schema_version', '1')")
    conn.execute("CREATE TABLE migration_events (event_id VARCHAR(36) PRIMARY KEY, run_id"
                 " VARCHAR(64), system_id VARCHAR(128) NOT NULL, step VARCHAR(32) NOT NULL,"
                 " outcome VARCHAR(24) NOT NULL, state_before VARCHAR(32), state_after"
                 " VARCHAR(32), host VARCHAR(255), task TEXT, detail TEXT, playbook_run"
                 " VARCHAR(64), started_at VARCHAR(32) NOT NULL, finished_at VARCHAR(32))")
    conn.commit()
    conn.close()
    led = Ledger.open(path)
    try:
        led.record("a", "preflight", "ok")
        led.record("a", "presync", "ok")
        assert [e.step for e in led.events("a")] == ["preflight", "presync"]
    finally:
        led.close()
