import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from onecloud.contract import LedgerError
from onecloud.contract._ledger import (
    INTERRUPTED_DETAIL,
    SCHEMA,
    SCHEMA_VERSION,
    Ledger,
    mask_secrets,
    public_url,
)
from onecloud.errors import MigrationError, OnecloudError, UsageError


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


def _dead_pid() -> int:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    return dead.pid


def _kill_holder(ledger: Ledger, lock_name: str) -> None:
    """As if the runner holding `lock_name` had been killed: its pid is a finished process."""
    with ledger._tx() as cur:
        cur.execute(
            "UPDATE migration_locks SET pid = ? WHERE lock_name = ?", (_dead_pid(), lock_name)
        )
        cur.execute(
            "UPDATE migration_runs SET owner = ? WHERE run_id IN"
            " (SELECT run_id FROM migration_locks WHERE lock_name = ?)",
            (f"{socket.gethostname()}:{_dead_pid()}", lock_name),
        )


def test_close_interrupted_closes_the_run_whose_lock_was_taken_over(ledger: Ledger) -> None:
    ledger.ensure_system("a", stack="lab", wave=1)
    ledger.acquire("wave:1", "old")
    ledger.record("a", "switch", "started", run_id="old")
    _kill_holder(ledger, "wave:1")
    stale = ledger.acquire("wave:1", "new")
    assert stale is not None and stale.run_id == "old"
    mine = ledger.record("a", "verify", "started", run_id="new")
    assert ledger.close_interrupted("new", of_runs=[stale.run_id]) == 1
    by_id = {e.event_id: e for e in ledger.events("a")}
    assert by_id[mine].outcome == "started"
    assert sorted(e.outcome for e in by_id.values()) == ["interrupted", "started"]
    assert ledger.close_interrupted("new", of_runs=["old"]) == 0  # closed once


def test_close_interrupted_leaves_a_live_runner_on_another_wave_alone(ledger: Ledger) -> None:
    ledger.ensure_system("a", stack="lab", wave=1)
    ledger.ensure_system("b", stack="lab", wave=2)
    ledger.acquire("wave:1", "run-1")  # alive: this process
    first = ledger.record("a", "sync", "started", run_id="run-1")
    assert ledger.acquire("wave:2", "run-2") is None
    second = ledger.record("b", "presync", "started", run_id="run-2")
    assert ledger.close_interrupted("run-2") == 0
    assert ledger.close_interrupted("run-1") == 0
    assert ledger.close_interrupted("run-2", of_runs=[]) == 0
    assert {e.event_id: e.outcome for e in ledger.events()} == {first: "started", second: "started"}
    ledger.finish(first, "ok", state_after="synced")
    (ev,) = ledger.events("a")
    assert (ev.outcome, ev.detail, ev.state_after) == ("ok", None, "synced")


def test_close_interrupted_by_default_only_closes_runs_that_are_over(ledger: Ledger) -> None:
    ledger.ensure_system("a", stack="lab", wave=1)
    # a run elsewhere that holds no lock but never said it ended: its pid cannot be checked here
    ledger.acquire("wave:7", "remote")
    with ledger._tx() as cur:
        cur.execute("UPDATE migration_runs SET owner = 'other-host:1' WHERE run_id = 'remote'")
        cur.execute("DELETE FROM migration_locks WHERE run_id = 'remote'")
    remote = ledger.record("a", "sync", "started", run_id="remote")
    orphan = ledger.record("a", "sync", "started", run_id=None)  # no run: left alone
    unknown = ledger.record("a", "sync", "started", run_id="no-such-run")
    # a run that released its lock with a step still open (it stopped on an exception)
    ledger.acquire("wave:8", "ended")
    ended = ledger.record("a", "freeze", "started", run_id="ended")
    ledger.release("wave:8", "ended", "failed")
    # a run killed here: no lock any more (unlocked by the operator) and its pid is gone
    ledger.acquire("wave:9", "killed")
    killed = ledger.record("a", "switch", "started", run_id="killed")
    _kill_holder(ledger, "wave:9")
    with ledger._tx() as cur:
        cur.execute("DELETE FROM migration_locks WHERE run_id = 'killed'")
    assert ledger.close_interrupted("me") == 2
    outcome = {e.event_id: e.outcome for e in ledger.events()}
    assert [outcome[e] for e in (remote, orphan, unknown)] == ["started"] * 3
    assert [outcome[e] for e in (ended, killed)] == ["interrupted"] * 2
    # the operator's unlock says the remote runner is gone for good
    ledger.acquire("wave:7", "remote-2")
    with ledger._tx() as cur:
        cur.execute("UPDATE migration_locks SET hostname = 'other-host' WHERE run_id = 'remote-2'")
    ledger.record("a", "sync", "started", run_id="remote-2")
    assert ledger.close_interrupted("me") == 0
    assert ledger.force_unlock("wave:7") is not None
    assert ledger.close_interrupted("me") == 1
    assert ledger.close_interrupted("me", of_runs=["me"]) == 0  # never its own steps


def test_finish_after_an_interruption_keeps_the_finishers_detail(ledger: Ledger) -> None:
    ledger.ensure_system("a", stack="lab", wave=1)
    plain = ledger.record("a", "sync", "started", run_id="slow")
    noted = ledger.record("a", "presync", "started", run_id="slow", detail="warm copy")
    failed = ledger.record("a", "freeze", "started", run_id="slow")
    assert ledger.close_interrupted("other", of_runs=["slow"]) == 3
    closed = {e.event_id: e for e in ledger.events()}
    assert closed[plain].detail == INTERRUPTED_DETAIL and closed[plain].outcome == "interrupted"
    assert closed[noted].detail == "warm copy"
    # the runner was alive after all and finishes its steps
    ledger.finish(plain, "ok", state_after="synced")
    ledger.finish(noted, "ok")
    ledger.finish(failed, "failed", detail="rsync exit 23")
    done = {e.event_id: (e.outcome, e.detail) for e in ledger.events()}
    assert done == {
        plain: ("ok", None),
        noted: ("ok", "warm copy"),
        failed: ("failed", "rsync exit 23"),
    }


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
    ledger.acquire("wave:1", "run-dead")
    _kill_holder(ledger, "wave:1")
    stale = ledger.acquire("wave:1", "run-new")
    assert stale is not None and stale.run_id == "run-dead"
    held = ledger.lock("wave:1")
    assert held is not None and held.run_id == "run-new" and held.pid == os.getpid()


def test_one_run_holds_several_wave_locks(ledger: Ledger) -> None:
    assert ledger.acquire("wave:1", "run-a") is None
    assert ledger.acquire("wave:2", "run-a") is None
    held = [ledger.lock(n) for n in ("wave:1", "wave:2")]
    assert [h.run_id if h else None for h in held] == ["run-a", "run-a"]
    assert ledger.run_argv("run-a") == []  # one run row for both
    ledger.release("wave:1", "run-a", "ok")
    ledger.release("wave:2", "run-a", "ok")


_RACER = """
import json, sys
from onecloud.contract import Ledger
from onecloud.errors import MigrationError
led = Ledger.open(sys.argv[1])
print("ready", flush=True)
for line in sys.stdin:
    if not line.strip():
        break
    try:
        led.acquire(line.strip(), sys.argv[2], ["onecloud", "migrate"])
        print("won", flush=True)
    except MigrationError as exc:
        print("lost " + json.dumps(str(exc)), flush=True)
    except Exception as exc:
        print("crashed " + json.dumps(repr(exc)), flush=True)
led.close()
"""


def race_for_locks(target: str, rounds: int) -> list[list[str]]:
    """Two runner processes try to take the same lock at once, `rounds` times (a new lock
    each round); each holds what it won until the end. The outcome of each, per round."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, target, f"racer-{n}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in (1, 2)
    ]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        results = []
        for r in range(rounds):
            for p in procs:
                assert p.stdin is not None
                p.stdin.write(f"race:{r}\n")
                p.stdin.flush()
            results.append([p.stdout.readline().strip() for p in procs if p.stdout])
        return results
    finally:
        for p in procs:
            if p.stdin:
                p.stdin.close()
            p.wait(timeout=60)


def assert_one_winner(results: list[list[str]]) -> None:
    for outcome in results:
        assert sorted(o.split(" ", 1)[0] for o in outcome) == ["lost", "won"], outcome
        lost = next(o for o in outcome if o.startswith("lost"))
        assert "being migrated by another runner" in lost and "racer-" in lost, lost


def test_two_processes_racing_for_a_lock(tmp_path: Path) -> None:
    assert_one_winner(race_for_locks(str(tmp_path / "ledger.sqlite"), rounds=5))


def test_manifests_upsert(ledger: Ledger) -> None:
    ledger.put_manifest("a", "src", "tree", "presync", "d1")
    ledger.put_manifest("a", "src", "tree", "presync", "d2")
    assert ledger.manifests("a", "tree") == {("src", "tree", "presync"): "d2"}
    assert ledger.manifests("b") == {}


def test_unopenable_ledger_is_a_usage_error(tmp_path: Path) -> None:
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


def _v1_events_table(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE migration_events (event_id VARCHAR(36) PRIMARY KEY, run_id"
        " VARCHAR(64), system_id VARCHAR(128) NOT NULL, step VARCHAR(32) NOT NULL,"
        " outcome VARCHAR(24) NOT NULL, state_before VARCHAR(32), state_after"
        " VARCHAR(32), host VARCHAR(255), task TEXT, detail TEXT, playbook_run"
        " VARCHAR(64), started_at VARCHAR(32) NOT NULL, finished_at VARCHAR(32))"
    )


def _old_ledger(path: Path, version: int) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE ledger_meta (name VARCHAR(64) PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("INSERT INTO ledger_meta VALUES ('schema_version', ?)", (str(version),))
    _v1_events_table(conn)
    if version >= 2:
        conn.execute("ALTER TABLE migration_events ADD COLUMN seq INTEGER")
    return conn


def _meta_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT value FROM ledger_meta").fetchone()[0])
    finally:
        conn.close()


def test_a_version_1_ledger_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = _old_ledger(path, 1)
    conn.execute(
        "INSERT INTO migration_events (event_id, system_id, step, outcome, started_at)"
        " VALUES ('e0', 'a', 'census', 'ok', '2025-01-01T00:00:00.000Z')"
    )
    conn.commit()
    conn.close()
    led = Ledger.open(path)
    try:
        led.record("a", "preflight", "ok")
        led.record("a", "presync", "ok")
        assert [e.step for e in led.events("a")] == ["census", "preflight", "presync"]
    finally:
        led.close()
    assert _meta_version(path) == SCHEMA_VERSION


def test_a_version_2_ledger_gets_unique_indexed_seq(tmp_path: Path) -> None:
    path = tmp_path / "v2.sqlite"
    conn = _old_ledger(path, 2)
    rows = [  # a v1 event (no seq), then two writers that drew the same seq (the old race)
        ("e-v1", None, "census", "2025-01-01T00:00:00.000Z"),
        ("e-1", 1, "preflight", "2026-01-01T00:00:00.000Z"),
        ("e-2a", 2, "presync", "2026-01-01T00:00:01.000Z"),
        ("e-2b", 2, "freeze", "2026-01-01T00:00:02.000Z"),
        ("e-3", 3, "sync", "2026-01-01T00:00:03.000Z"),
    ]
    conn.executemany(
        "INSERT INTO migration_events (event_id, seq, system_id, step, outcome, started_at)"
        " VALUES (?, ?, 'a', ?, 'ok', ?)",
        rows,
    )
    conn.commit()
    conn.close()
    led = Ledger.open(path)
    try:
        led.record("a", "switch", "ok")
        assert [e.step for e in led.events("a")] == [
            "census",
            "preflight",
            "presync",
            "freeze",
            "sync",
            "switch",
        ]
    finally:
        led.close()
    assert _meta_version(path) == SCHEMA_VERSION
    conn = sqlite3.connect(path)
    try:
        seqs = [r[0] for r in conn.execute("SELECT seq FROM migration_events ORDER BY seq")]
        assert seqs == [1, 2, 3, 4, 5, 6]
        unique = {r[1]: r[2] for r in conn.execute("PRAGMA index_list(migration_events)")}
        assert unique.get("migration_events_order") == 1
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(
                "INSERT INTO migration_events (event_id, seq, system_id, step, outcome,"
                " started_at) VALUES ('dup', 6, 'a', 'x', 'ok', 'now')"
            )
    finally:
        conn.close()


def test_the_next_seq_is_read_from_the_index(ledger: Ledger) -> None:
    plan = ledger._query(
        "EXPLAIN QUERY PLAN SELECT COALESCE(MAX(seq), 0) + 1 FROM migration_events"
    )
    assert any("USING COVERING INDEX migration_events_order" in str(r[-1]) for r in plan), plan
    open_plan = ledger._query(
        "EXPLAIN QUERY PLAN SELECT DISTINCT run_id FROM migration_events"
        " WHERE finished_at IS NULL AND run_id <> 'x'"
    )
    assert any("migration_events_open" in str(r[-1]) for r in open_plan), open_plan


def test_a_current_ledger_is_opened_without_ddl(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    Ledger.open(path).close()
    statements: list[str] = []
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.set_trace_callback(statements.append)
    Ledger(conn).close()
    assert not [s for s in statements if s.lstrip().upper().startswith(("CREATE", "BEGIN"))]


def test_a_ledger_from_a_newer_onecloud_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    Ledger.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE ledger_meta SET value = ?", (str(SCHEMA_VERSION + 1),))
    conn.commit()
    conn.close()
    with pytest.raises(UsageError, match=f"schema version {SCHEMA_VERSION + 1}"):
        Ledger.open(path)


_WRITER = """
import sys
from onecloud.contract import Ledger
led = Ledger.open(sys.argv[1])
sys.stdin.readline()
for i in range(int(sys.argv[2])):
    led.record("a", "sync", "ok", run_id=sys.argv[3])
led.close()
"""


def test_concurrent_writers_from_several_processes_get_distinct_seqs(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    Ledger.open(path).close()
    n, each = 4, 60
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), str(each), f"w{i}"],
            stdin=subprocess.PIPE,
            text=True,
        )
        for i in range(n)
    ]
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.close()
    assert [p.wait(timeout=120) for p in procs] == [0] * n
    conn = sqlite3.connect(path)
    try:
        seqs = [r[0] for r in conn.execute("SELECT seq FROM migration_events ORDER BY seq")]
    finally:
        conn.close()
    assert seqs == list(range(1, n * each + 1))


def test_mask_secrets() -> None:
    assert public_url("postgresql://u:s3cret@db.example:5432/onecloud?sslmode=require") == (
        "postgresql://u:***@db.example:5432/onecloud?sslmode=require"
    )
    assert public_url("postgres://u@db/x") == "postgres://u@db/x"  # nothing to hide
    assert public_url("postgresql://db:5432/x?user=u&password=pw&a=b@c") == (
        "postgresql://db:5432/x?user=u&password=***&a=b@c"
    )
    assert public_url("postgresql://u:p%40ss@db/x") == "postgresql://u:***@db/x"
    text = "ledger postgresql://a:one@h1/x and postgresql://b:two@h2/y; host=h password=three"
    assert mask_secrets(text) == (
        "ledger postgresql://a:***@h1/x and postgresql://b:***@h2/y; host=h password=***"
    )
    assert mask_secrets("/var/lib/onecloud/ledger.sqlite") == "/var/lib/onecloud/ledger.sqlite"


def test_argv_is_stored_with_passwords_masked(ledger: Ledger) -> None:
    argv = [
        "onecloud",
        "migrate",
        "--ledger",
        "postgresql://ops:hunter22@db/ledger",
        "--ledger=postgresql://ops:hunter22@db/ledger",
        "--wave",
        "1",
    ]
    ledger.acquire("wave:1", "run-1", argv)
    stored = ledger.run_argv("run-1")
    assert stored == [
        "onecloud",
        "migrate",
        "--ledger",
        "postgresql://ops:***@db/ledger",
        "--ledger=postgresql://ops:***@db/ledger",
        "--wave",
        "1",
    ]
    raw = ledger._query("SELECT argv FROM migration_runs")
    assert "hunter22" not in raw[0][0] and json.loads(raw[0][0]) == stored


def test_an_unreachable_postgres_ledger_is_named_with_its_password_masked() -> None:
    url = "postgresql://ops:hunter22@127.0.0.1:1/ledger?connect_timeout=2"
    with pytest.raises(UsageError, match="cannot open the migration ledger") as err:
        Ledger.open(url)
    assert "postgresql://ops:***@127.0.0.1:1/ledger" in str(err.value)
    assert "hunter22" not in str(err.value)


def test_a_locked_sqlite_ledger_is_a_clean_error(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    led = Ledger.open(path)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        led._conn.execute("PRAGMA busy_timeout=50")
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(LedgerError, match=f"the migration ledger {path} is unavailable") as e:
            led.record("a", "sync", "ok")
        assert isinstance(e.value, OnecloudError)
        other.execute("ROLLBACK")
        led.record("a", "sync", "ok")  # and it goes on once the file is free
        assert len(led.events("a")) == 1
        with pytest.raises(sqlite3.OperationalError):  # a bug in SQL is not an outage
            led._query("SELECT no_such_column FROM migration_events")
    finally:
        other.close()
        led.close()
