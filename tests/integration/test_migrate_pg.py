"""`onecloud migrate` for real with a team's PostgreSQL ledger: a wave migrates into it, status
and report read it back, two runners on one wave share it (one runs, one is refused), and the
URL's password is printed and stored only as `***`.

The server is $ONECLOUD_TEST_PG_URL (its user may create databases), as for
tests/integration/test_ledger_pg.py; each test works in a database of its own.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the helpers next to this file

from migratelab import Lab, private_lab, serving_places
from pgserver import MARKS, fresh_database, server_lock

pytestmark = MARKS


@pytest.fixture()
def pg_url() -> Iterator[str]:
    with server_lock(), fresh_database("migrate") as url:
        yield url


def _password(url: str) -> str:
    password = urlsplit(url).password
    assert password, "ONECLOUD_TEST_PG_URL has no password: the masking tests need one"
    return password


def _rows(url: str, sql: str, *params: object) -> list[tuple[object, ...]]:
    import psycopg

    try:
        with psycopg.connect(url) as conn:
            return list(conn.execute(sql, params).fetchall())
    except psycopg.errors.UndefinedTable:
        return []


def _masked(url: str, text: str) -> None:
    """The password never in clear; where the URL is printed, it is masked."""
    assert _password(url) not in text, "the ledger password is printed in clear"
    assert "Traceback" not in text, text


def _assert_argv_masked(url: str) -> None:
    argv = _rows(url, "SELECT run_id, argv FROM migration_runs")
    assert argv, "no run recorded"
    text = json.dumps([str(a) for a in argv])
    assert _password(url) not in text, argv
    assert ":***@" in text, argv  # the --ledger argument is there, masked


def _wait_for_event(url: str, system: str, step: str, outcome: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _rows(
            url,
            "SELECT 1 FROM migration_events WHERE system_id = %s AND step = %s AND outcome = %s",
            system,
            step,
            outcome,
        ):
            return
        time.sleep(0.1)
    raise AssertionError(f"{system}: no {step}/{outcome} event within {timeout} s")


def _completed(url: str, lab: Lab) -> list[str]:
    ids = [s.id for s in lab.plan.systems]
    rows = _rows(url, "SELECT system_id, state, rollback_pending FROM migration_systems")
    return sorted(
        str(sid)
        for sid, state, pending in rows
        if sid in ids and state == "completed" and not pending
    )


def test_a_wave_migrates_into_a_postgresql_ledger_that_status_and_report_read(
    tmp_path: Path, pg_url: str
) -> None:
    with private_lab(tmp_path, "pgwave", ["edu-portal", "civil-ledger"], wave=76) as lab:
        r = lab.migrate("--ledger", pg_url)
        assert r.returncode == 0, r.stdout + r.stderr
        _masked(pg_url, r.stdout + r.stderr)
        ids = sorted(s.id for s in lab.plan.systems)
        assert _completed(pg_url, lab) == ids
        for s in lab.plan.systems:
            assert serving_places(s) == [s.targets[0].name]
        assert not lab.ledger_path.exists()  # the SQLite default was not touched

        st = lab.cli("migrate", "status", "--wave", str(lab.wave), "--ledger", pg_url)
        assert st.returncode == 0, st.stdout + st.stderr
        _masked(pg_url, st.stdout + st.stderr)
        assert ":***@" in st.stdout, st.stdout
        for sid in ids:
            line = next((ln for ln in st.stdout.splitlines() if sid in ln), "")
            assert "completed" in line, st.stdout

        rep = lab.cli("report", "--plan", str(lab.plan_path), "--ledger", pg_url, "--format", "md")
        assert rep.returncode == 0, rep.stdout + rep.stderr
        _masked(pg_url, rep.stdout + rep.stderr)
        assert ":***@" in rep.stdout, rep.stdout
        # the wave's row: 2 to migrate, 2 done, 0 moving, 0 failed, 0 waiting, 100 %
        assert f"| {lab.wave} | 2 | 2 | 0 | 0 | 0 | 100 |" in rep.stdout, rep.stdout
        _assert_argv_masked(pg_url)


def test_two_runners_on_one_wave_share_one_postgresql_ledger(tmp_path: Path, pg_url: str) -> None:
    with private_lab(tmp_path, "pgtwo", ["edu-portal"], wave=77) as lab:
        s = lab.system("edu-portal")
        first = lab.spawn_migrate("--ledger", pg_url)
        try:
            _wait_for_event(pg_url, s.id, "presync", "started")
            second = lab.migrate("--ledger", pg_url, timeout=120)
            out = second.stdout + second.stderr
            assert second.returncode == 6, out
            assert "being migrated by another runner" in second.stderr, out
            _masked(pg_url, out)
            assert ":***@" in out, out
            first_out, _ = first.communicate(timeout=600)
        finally:
            if first.poll() is None:
                first.kill()
                first.wait(timeout=60)
        assert first.returncode == 0, first_out
        _masked(pg_url, first_out)
        assert _completed(pg_url, lab) == [s.id]
        assert serving_places(s) == [s.targets[0].name]
        # the refused runner wrote no step: only the first runner's events are there
        runs = {r for (r,) in _rows(pg_url, "SELECT DISTINCT run_id FROM migration_events")}
        assert len(runs) == 1, runs
        assert _rows(pg_url, "SELECT lock_name FROM migration_locks") == []
        _assert_argv_masked(pg_url)
