"""The ledger against a real PostgreSQL server: schema, writes, the read-only view, racing
runners, runners on two waves, and the server going away mid-run.

The server is $ONECLOUD_TEST_PG_URL (its user may create databases); `scripts/test.sh` starts a
throwaway one with `scripts/pg-test-server.sh` and sets it, and so does CI. Each test works in
a database of its own. The test that stops the server needs that script's cluster and takes
the server for itself (the others hold a shared lock on it, also under pytest-xdist).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the helpers next to this file

from pgserver import MARKS, URL, fresh_database, server_lock

from onecloud.contract import Ledger, LedgerError, LedgerView
from onecloud.contract._ledger import SCHEMA_VERSION, public_url
from onecloud.errors import MigrationError, OnecloudError

SERVER_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "pg-test-server.sh"

pytestmark = MARKS


@pytest.fixture()
def pg_url() -> Iterator[str]:
    with server_lock(), fresh_database("ledger") as url:
        yield url


@pytest.fixture()
def ledger(pg_url: str) -> Iterator[Ledger]:
    led = Ledger.open(pg_url)
    yield led
    led.close()


def _rows(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return [tuple(r) for r in conn.execute(sql, params).fetchall()]


def _password(url: str) -> str:
    password = urlsplit(url).password
    assert password, "ONECLOUD_TEST_PG_URL has no password: the masking tests need one"
    return password


def test_the_schema_is_created_once_even_by_racing_processes(pg_url: str) -> None:
    opener = "import sys; from onecloud.contract import Ledger; Ledger.open(sys.argv[1]).close()"
    procs = [subprocess.Popen([sys.executable, "-c", opener, pg_url]) for _ in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    tables = ["ledger_meta", "migration_systems", "migration_events", "migration_runs"]
    tables += ["migration_locks", "data_manifests"]
    for table in tables:
        assert _rows(pg_url, "SELECT to_regclass(%s)", (table,))[0][0] is not None, table
    assert _rows(pg_url, "SELECT value FROM ledger_meta") == [(str(SCHEMA_VERSION),)]
    indexes = dict(_rows(pg_url, "SELECT indexname, indexdef FROM pg_indexes"))
    assert "UNIQUE" in indexes["migration_events_order"]
    assert "WHERE (finished_at IS NULL)" in indexes["migration_events_open"]
    assert _rows(pg_url, "SELECT to_regclass('migration_events_seq')")[0][0] is not None


def test_a_version_2_postgres_ledger_is_upgraded(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        conn.execute("CREATE TABLE ledger_meta (name VARCHAR(64) PRIMARY KEY, value TEXT)")
        conn.execute("INSERT INTO ledger_meta VALUES ('schema_version', '2')")
        conn.execute(
            "CREATE TABLE migration_events (event_id VARCHAR(36) PRIMARY KEY, seq INTEGER,"
            " run_id VARCHAR(64), system_id VARCHAR(128) NOT NULL, step VARCHAR(32) NOT NULL,"
            " outcome VARCHAR(24) NOT NULL, state_before VARCHAR(32), state_after VARCHAR(32),"
            " host VARCHAR(255), task TEXT, detail TEXT, playbook_run VARCHAR(64),"
            " started_at VARCHAR(32) NOT NULL, finished_at VARCHAR(32))"
        )
        for event_id, seq, step, at in [
            ("e1", 1, "preflight", "2026-01-01T00:00:00.000Z"),
            ("e2a", 2, "presync", "2026-01-01T00:00:01.000Z"),  # two writers drew seq 2
            ("e2b", 2, "freeze", "2026-01-01T00:00:02.000Z"),
        ]:
            conn.execute(
                "INSERT INTO migration_events (event_id, seq, system_id, step, outcome,"
                " started_at) VALUES (%s, %s, 'a', %s, 'ok', %s)",
                (event_id, seq, step, at),
            )
    led = Ledger.open(pg_url)
    try:
        led.record("a", "sync", "ok")
        assert [e.step for e in led.events("a")] == ["preflight", "presync", "freeze", "sync"]
    finally:
        led.close()
    seqs = _rows(pg_url, "SELECT seq FROM migration_events ORDER BY seq")
    assert seqs == [(1,), (2,), (3,), (4,)]  # renumbered, and the sequence goes on after them
    assert _rows(pg_url, "SELECT value FROM ledger_meta") == [(str(SCHEMA_VERSION),)]


def test_writes_and_reads(ledger: Ledger, pg_url: str) -> None:
    assert ledger.where == public_url(pg_url) and _password(pg_url) not in ledger.where
    assert ":***@" in ledger.where
    rec = ledger.ensure_system("a", stack="lab", wave=1)
    assert rec.state == "planned"
    ledger.ensure_system("b", stack="lab", wave=2)
    ledger.set_state("a", "presynced", last_error="boom", rollback_pending=True)
    again = ledger.ensure_system("a", stack="lab", wave=1)
    assert (again.state, again.last_error, again.rollback_pending) == ("presynced", "boom", True)
    ledger.set_state("a", "frozen", clear_error=True, rollback_pending=False)
    ledger.mark_freeze_start("a", "2026-01-01T00:00:00.000Z")
    assert ledger.mark_serving("a", "2026-01-01T00:00:02.250Z") == 2.25
    a = ledger.system("a")
    assert a is not None and (a.state, a.last_error, a.downtime_seconds) == ("frozen", None, 2.25)
    assert [r.system_id for r in ledger.systems(2)] == ["b"]
    steps = ["preflight", "presync", "freeze", "sync", "switch", "verify", "complete"]
    for step in steps:  # in one millisecond: seq orders them
        ledger.record("a", step, "ok", run_id="r1", started_at="2026-01-01T00:00:00.000Z")
    eid = ledger.record("a", "rollback", "started", run_id="r1")
    ledger.finish(eid, "failed", host="t1", task="Copy", detail="No space left on device")
    events = ledger.events("a")
    assert [e.step for e in events] == [*steps, "rollback"]
    assert (events[-1].outcome, events[-1].host, events[-1].detail) == (
        "failed",
        "t1",
        "No space left on device",
    )
    ledger.put_manifest("a", "src", "tree", "presync", "d1")
    ledger.put_manifest("a", "src", "tree", "presync", "d2")
    assert ledger.manifests("a", "tree") == {("src", "tree", "presync"): "d2"}
    assert ledger.acquire("wave:1", "r1", ["onecloud", "--ledger", pg_url]) is None
    assert ledger.acquire("wave:2", "r1") is None  # one run, two waves
    assert ledger.run_argv("r1") == ["onecloud", "--ledger", public_url(pg_url)]
    stored = _rows(pg_url, "SELECT argv FROM migration_runs")
    assert _password(pg_url) not in json.dumps(stored)
    ledger.release("wave:1", "r1", "ok")
    ledger.release("wave:2", "r1", "ok")
    assert ledger.lock("wave:1") is None


def test_the_read_only_view(ledger: Ledger, pg_url: str) -> None:
    ledger.ensure_system("b-app", stack="lab", wave=2)
    ledger.ensure_system("a-app", stack="lab", wave=1)
    ledger.set_state("b-app", "presynced", rollback_pending=True, last_error="rsync 23")
    ledger.acquire("wave:1", "run-1")
    view = LedgerView.read(pg_url)
    assert (view.status, view.where) == ("read", public_url(pg_url))
    assert _password(pg_url) not in view.source
    assert list(view.records) == ledger.systems()
    assert ledger.lock("wave:1") is not None  # the view took no lock, and wrote nothing
    ledger.set_state("a-app", "frozen")  # nor holds the writer up
    assert LedgerView.read(pg_url).by_id()["a-app"].state == "frozen"


def test_the_view_of_an_empty_or_unreachable_server_creates_nothing(pg_url: str) -> None:
    view = LedgerView.read(pg_url)
    assert view.status == "empty" and view.records == ()
    assert _rows(pg_url, "SELECT to_regclass('migration_systems')") == [(None,)]
    parts = urlsplit(pg_url)
    gone = urlunsplit(parts._replace(netloc=parts.netloc.rsplit(":", 1)[0] + ":1"))
    view = LedgerView.read(gone)
    assert view.status == "unreadable" and _password(pg_url) not in view.source


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


def test_two_processes_racing_for_one_lock(pg_url: str) -> None:
    Ledger.open(pg_url).close()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, pg_url, f"racer-{n}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in (1, 2)
    ]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        for r in range(10):  # each holds what it won: a new lock each round
            for p in procs:
                assert p.stdin is not None
                p.stdin.write(f"race:{r}\n")
                p.stdin.flush()
            outcome = [p.stdout.readline().strip() for p in procs if p.stdout]
            assert sorted(o.split(" ", 1)[0] for o in outcome) == ["lost", "won"], outcome
            lost = next(o for o in outcome if o.startswith("lost"))
            assert "being migrated by another runner" in lost and "racer-" in lost, lost
            assert _password(pg_url) not in lost and ":***@" in lost
    finally:
        for p in procs:
            if p.stdin:
                p.stdin.close()
            p.wait(timeout=60)


def test_the_loser_of_an_exact_tie_gets_the_clean_error(ledger: Ledger, pg_url: str) -> None:
    """The other runner inserted its lock after this one looked and before it inserted: this
    one's insert waits for the other's commit, then names the holder (no UniqueViolation)."""
    other = psycopg.connect(pg_url)
    try:
        other.execute(
            "INSERT INTO migration_locks (lock_name, run_id, hostname, pid, acquired_at)"
            " VALUES ('wave:1', 'run-other', 'controller-2', 4242, '2026-01-01T00:00:00.000Z')"
        )  # not committed yet
        raised: list[BaseException] = []

        def take() -> None:
            try:
                ledger.acquire("wave:1", "run-mine")
            except BaseException as exc:
                raised.append(exc)

        taker = threading.Thread(target=take)
        taker.start()
        deadline = time.monotonic() + 20
        while not _rows(pg_url, "SELECT 1 FROM pg_locks WHERE NOT granted"):
            assert time.monotonic() < deadline, "acquire never waited for the other insert"
            time.sleep(0.02)
        other.commit()
        taker.join(timeout=30)
    finally:
        other.close()
    assert len(raised) == 1 and isinstance(raised[0], MigrationError), raised
    message = str(raised[0])
    assert "wave:1 is being migrated by another runner (run run-other, pid 4242" in message
    assert "UniqueViolation" not in repr(raised[0]) and _password(pg_url) not in message
    held = ledger.lock("wave:1")
    assert held is not None and held.run_id == "run-other"


_RUNNER = """
import sys
from onecloud.contract import Ledger
led = Ledger.open(sys.argv[1])
run, lock, system = sys.argv[2:5]
led.acquire(lock, run)
led.ensure_system(system, stack="lab", wave=int(lock.split(":")[1]))
event = led.record(system, "sync", "started", run_id=run)
print(event, flush=True)
if sys.stdin.readline().strip() == "finish":
    led.finish(event, "ok", state_after="synced")
    led.release(lock, run, "ok")
    print("done", flush=True)
led.close()
"""


def _runner(url: str, run: str, lock: str, system: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _RUNNER, url, run, lock, system],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    event = proc.stdout.readline().strip()
    assert event, f"runner {run} did not start"
    return proc, event


def test_runners_on_two_waves_keep_each_others_open_steps(ledger: Ledger, pg_url: str) -> None:
    first, first_event = _runner(pg_url, "run-wave1", "wave:1", "a")
    try:
        assert ledger.acquire("wave:2", "run-wave2") is None
        ledger.ensure_system("b", stack="lab", wave=2)
        mine = ledger.record("b", "presync", "started", run_id="run-wave2")
        assert ledger.close_interrupted("run-wave2") == 0  # the other runner is alive
        assert ledger.close_interrupted("run-wave2", of_runs=[]) == 0
        outcome = {e.event_id: e.outcome for e in ledger.events()}
        assert outcome == {first_event: "started", mine: "started"}
        assert first.stdin is not None and first.stdout is not None
        first.stdin.write("finish\n")
        first.stdin.flush()
        assert first.stdout.readline().strip() == "done"
        (a,) = ledger.events("a")
        assert (a.outcome, a.detail, a.state_after) == ("ok", None, "synced")
    finally:
        if first.stdin:
            first.stdin.close()
        first.wait(timeout=60)
    # a runner on wave 1 is killed; the next one takes its lock over and closes its steps only
    killed, killed_event = _runner(pg_url, "run-killed", "wave:1", "a")
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait(timeout=60)
    stale = ledger.acquire("wave:1", "run-next")
    assert stale is not None and stale.run_id == "run-killed"
    assert ledger.close_interrupted("run-next", of_runs=[stale.run_id]) == 1
    outcome = {e.event_id: e.outcome for e in ledger.events()}
    assert (outcome[killed_event], outcome[mine]) == ("interrupted", "started")


def _server(action: str) -> str:
    done = subprocess.run(
        [str(SERVER_SCRIPT), action], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"pg-test-server.sh {action}: {done.stderr}"
    return done.stdout.strip()


def test_the_server_stopping_mid_run_is_a_clean_error() -> None:
    with server_lock(exclusive=True):
        script_url = _server("url")
        assert urlsplit(script_url).port == urlsplit(URL).port, (
            f"ONECLOUD_TEST_PG_URL ({public_url(URL)}) is not the cluster of {SERVER_SCRIPT}"
            f" ({public_url(script_url)}): this test stops and restarts that cluster"
        )
        with fresh_database("ledger") as url:
            led = Ledger.open(url)
            try:
                led.acquire("wave:1", "run-1")
                led.ensure_system("a", stack="lab", wave=1)
                event = led.record("a", "sync", "started", run_id="run-1")
                try:
                    _server("stop")  # pg_ctl stop -m fast on the test cluster
                    with pytest.raises(LedgerError) as err:
                        led.finish(event, "ok", state_after="synced")
                    assert isinstance(err.value, OnecloudError)
                    message = str(err.value)
                    assert f"the migration ledger {public_url(url)} is unavailable" in message
                    assert _password(url) not in message
                    with pytest.raises(LedgerError):  # still down: still clean
                        led.system("a")
                finally:
                    _server("start")
                # the same ledger reconnects once the server is back; the lost write is lost
                assert [e.outcome for e in led.events("a")] == ["started"]
                led.finish(event, "ok", state_after="synced")
                assert [e.outcome for e in led.events("a")] == ["ok"]
            finally:
                led.close()
