"""The migration ledger: every transition of every system, with who, when, where and why.

SQLite by default (a file under `onecloud.paths.state_dir()`, outside git). The schema is plain
SQL that PostgreSQL runs unchanged (VARCHAR/TEXT/INTEGER/DOUBLE PRECISION, ISO-8601 UTC
timestamps as text, `INSERT ... ON CONFLICT` upserts), so a team can share one ledger that
several controllers use as their work queue.

A wave lock row makes a second runner on the same wave refuse. A lock left by a runner that
was killed on this machine (its PID is gone) is taken over, and the takeover is recorded.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from onecloud import paths
from onecloud.contract._states import STATES, State, Step
from onecloud.errors import MigrationError, UsageError

__all__ = [
    "SCHEMA",
    "SYSTEM_COLUMNS",
    "Event",
    "Ledger",
    "LockInfo",
    "SystemRecord",
    "default_path",
    "now",
    "public_url",
    "resolve",
]

SCHEMA_VERSION = 2

#: portable DDL (SQLite and PostgreSQL); one statement per item
SCHEMA: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS ledger_meta (
        name VARCHAR(64) PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS migration_systems (
        system_id VARCHAR(128) PRIMARY KEY,
        stack VARCHAR(128),
        wave INTEGER,
        state VARCHAR(32) NOT NULL,
        rollback_pending INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        freeze_started_at VARCHAR(32),
        serving_at VARCHAR(32),
        downtime_seconds DOUBLE PRECISION,
        updated_at VARCHAR(32) NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS migration_events (
        event_id VARCHAR(36) PRIMARY KEY,
        seq INTEGER,
        run_id VARCHAR(64),
        system_id VARCHAR(128) NOT NULL,
        step VARCHAR(32) NOT NULL,
        outcome VARCHAR(24) NOT NULL,
        state_before VARCHAR(32),
        state_after VARCHAR(32),
        host VARCHAR(255),
        task TEXT,
        detail TEXT,
        playbook_run VARCHAR(64),
        started_at VARCHAR(32) NOT NULL,
        finished_at VARCHAR(32)
    )""",
    """CREATE INDEX IF NOT EXISTS migration_events_system
        ON migration_events (system_id, started_at)""",
    """CREATE TABLE IF NOT EXISTS migration_runs (
        run_id VARCHAR(64) PRIMARY KEY,
        lock_name VARCHAR(64) NOT NULL,
        owner VARCHAR(255) NOT NULL,
        argv TEXT,
        outcome VARCHAR(24),
        started_at VARCHAR(32) NOT NULL,
        finished_at VARCHAR(32)
    )""",
    """CREATE TABLE IF NOT EXISTS migration_locks (
        lock_name VARCHAR(64) PRIMARY KEY,
        run_id VARCHAR(64) NOT NULL,
        hostname VARCHAR(255) NOT NULL,
        pid INTEGER NOT NULL,
        acquired_at VARCHAR(32) NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS data_manifests (
        system_id VARCHAR(128) NOT NULL,
        host VARCHAR(255) NOT NULL,
        kind VARCHAR(16) NOT NULL,
        name VARCHAR(512) NOT NULL,
        digest TEXT NOT NULL,
        recorded_at VARCHAR(32) NOT NULL,
        PRIMARY KEY (system_id, host, kind, name)
    )""",
)


def now() -> str:
    """The current time as ISO-8601 UTC text (sortable, portable)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def default_path() -> Path:
    return paths.ledger_file()


def resolve(target: str | Path | None = None) -> str | Path:
    """Where a ledger target points: a PostgreSQL URL (str) or a SQLite file (Path).

    `target` may be a file path, `sqlite:///abs/path` or `postgresql://...`; None (or "") means
    $ONECLOUD_LEDGER, else the default SQLite file. `Ledger.open` and `LedgerView.read` both
    resolve through here, so `migrate`, `verify` and `report` find the same ledger.
    """
    raw = str(target) if target is not None else os.environ.get("ONECLOUD_LEDGER", "")
    if raw.startswith(("postgresql://", "postgres://")):
        return raw
    return Path(raw.removeprefix("sqlite://")) if raw else default_path()


def public_url(url: str) -> str:
    """A PostgreSQL URL without its user, password and query (fit to print)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2], query=""))


def _psycopg(url: str) -> Any:
    """The psycopg module, or a UsageError saying it is needed for this ledger."""
    try:
        import psycopg
    except ImportError as exc:
        raise UsageError(
            f"the ledger {url.split('@')[-1]} is PostgreSQL but psycopg is not installed",
            hint="pip install psycopg, or use a SQLite ledger file",
        ) from exc
    return psycopg


#: the columns of `migration_systems` in `SystemRecord` order (see `system_record`)
SYSTEM_COLUMNS = ("system_id, stack, wave, state, rollback_pending, last_error,"
                  " freeze_started_at, serving_at, downtime_seconds, updated_at")


@dataclass(frozen=True)
class SystemRecord:
    system_id: str
    stack: str | None
    wave: int | None
    state: State
    rollback_pending: bool
    last_error: str | None
    freeze_started_at: str | None
    serving_at: str | None
    downtime_seconds: float | None
    updated_at: str

    @property
    def failed(self) -> bool:
        """The last step failed (an error is recorded) or a rollback is pending."""
        return self.rollback_pending or bool(self.last_error)


@dataclass(frozen=True)
class Event:
    event_id: str
    run_id: str | None
    system_id: str
    step: str
    outcome: str
    state_before: str | None
    state_after: str | None
    host: str | None
    task: str | None
    detail: str | None
    playbook_run: str | None
    started_at: str
    finished_at: str | None


@dataclass(frozen=True)
class LockInfo:
    lock_name: str
    run_id: str
    hostname: str
    pid: int
    acquired_at: str


def _pid_alive(pid: int) -> bool:
    """True if a process with this PID runs (and is not a zombie) on this machine."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            fields = fh.read().rsplit(")", 1)[-1].split()
    except OSError:
        return False
    return bool(fields) and fields[0] != "Z"


class Ledger:
    """One connection to the ledger; safe to share between the runner's threads."""

    def __init__(self, conn: Any, *, paramstyle: str = "qmark", where: str = "") -> None:
        self._conn = conn
        self._qmark = paramstyle == "qmark"
        self._mutex = threading.RLock()
        self.where = where
        self._init_schema()

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def open(cls, target: str | Path | None = None) -> Ledger:
        """Open (creating if needed) the ledger at a path or URL.

        `target` may be a file path, `sqlite:///abs/path` or `postgresql://...` (needs the
        `psycopg` package). None means $ONECLOUD_LEDGER, else the default SQLite file.
        """
        where = resolve(target)
        if isinstance(where, str):
            conn = _psycopg(where).connect(where, autocommit=False)
            return cls(conn, paramstyle="format", where=where)
        path = where
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, timeout=30, check_same_thread=False,
                                   isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=30000")
        except (OSError, sqlite3.Error) as exc:
            raise UsageError(
                f"cannot open the migration ledger {path}: {exc}",
                hint="check the path and its permissions, or set ONECLOUD_LEDGER",
            ) from exc
        return cls(conn, paramstyle="qmark", where=str(path))

    def close(self) -> None:
        with self._mutex:
            self._conn.close()

    # -- low level -------------------------------------------------------------------------
    def _sql(self, sql: str) -> str:
        return sql if self._qmark else sql.replace("?", "%s")

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        with self._mutex:
            cur = self._conn.cursor()
            if self._qmark:
                cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                self._conn.rollback() if not self._qmark else cur.execute("ROLLBACK")
                raise
            else:
                if self._qmark:
                    cur.execute("COMMIT")
                else:
                    self._conn.commit()
            finally:
                cur.close()

    def _exec(self, cur: Any, sql: str, params: Sequence[Any] = ()) -> None:
        cur.execute(self._sql(sql), tuple(params))

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._mutex:
            cur = self._conn.cursor()
            try:
                cur.execute(self._sql(sql), tuple(params))
                return list(cur.fetchall())
            finally:
                cur.close()
                if not self._qmark:
                    self._conn.commit()

    def _init_schema(self) -> None:
        with self._tx() as cur:
            for stmt in SCHEMA:
                self._exec(cur, stmt)
            self._exec(
                cur,
                "INSERT INTO ledger_meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                ("schema_version", str(SCHEMA_VERSION)),
            )
            self._exec(cur, "SELECT value FROM ledger_meta WHERE name = ?", ("schema_version",))
            version = int(cur.fetchone()[0])
            if version < 2:  # 1 -> 2: events get an explicit order (timestamps can tie)
                self._exec(cur, "ALTER TABLE migration_events ADD COLUMN seq INTEGER")
                self._exec(cur, "UPDATE ledger_meta SET value = ? WHERE name = ?",
                           (str(SCHEMA_VERSION), "schema_version"))

    # -- locks and runs --------------------------------------------------------------------
    def acquire(self, lock_name: str, run_id: str, argv: Sequence[str] = ()) -> LockInfo | None:
        """Take the lock `lock_name` (e.g. "wave:1") for this run.

        Returns the stale lock that was taken over (its runner died on this machine), or None.
        Raises MigrationError naming the holder when another live runner has it.
        """
        me = socket.gethostname()
        taken_over: LockInfo | None = None
        with self._tx() as cur:
            self._exec(
                cur,
                "SELECT lock_name, run_id, hostname, pid, acquired_at FROM migration_locks"
                " WHERE lock_name = ?",
                (lock_name,),
            )
            row = cur.fetchone()
            if row is not None:
                held = LockInfo(*row)
                if held.hostname == me and not _pid_alive(held.pid):
                    taken_over = held
                    self._exec(cur, "DELETE FROM migration_locks WHERE lock_name = ?",
                               (lock_name,))
                    self._exec(
                        cur,
                        "UPDATE migration_runs SET outcome = ?, finished_at = ? WHERE run_id = ?"
                        " AND finished_at IS NULL",
                        ("killed", now(), held.run_id),
                    )
                else:
                    raise MigrationError(
                        f"{lock_name} is being migrated by another runner (run {held.run_id}, "
                        f"pid {held.pid} on {held.hostname}, since {held.acquired_at}); "
                        f"ledger {self.where}",
                        hint="wait for it to finish; if that runner is gone for good, run "
                        f"`onecloud migrate unlock --lock {lock_name}`",
                    )
            self._exec(
                cur,
                "INSERT INTO migration_locks (lock_name, run_id, hostname, pid, acquired_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (lock_name, run_id, me, os.getpid(), now()),
            )
            self._exec(
                cur,
                "INSERT INTO migration_runs (run_id, lock_name, owner, argv, started_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (run_id, lock_name, f"{me}:{os.getpid()}", json.dumps(list(argv)), now()),
            )
        return taken_over

    def release(self, lock_name: str, run_id: str, outcome: str) -> None:
        with self._tx() as cur:
            self._exec(cur, "DELETE FROM migration_locks WHERE lock_name = ? AND run_id = ?",
                       (lock_name, run_id))
            self._exec(cur, "UPDATE migration_runs SET outcome = ?, finished_at = ?"
                       " WHERE run_id = ?", (outcome, now(), run_id))

    def force_unlock(self, lock_name: str) -> LockInfo | None:
        """Remove a lock whatever holds it (the operator's explicit decision)."""
        held = self.lock(lock_name)
        with self._tx() as cur:
            self._exec(cur, "DELETE FROM migration_locks WHERE lock_name = ?", (lock_name,))
        return held

    def lock(self, lock_name: str) -> LockInfo | None:
        rows = self._query(
            "SELECT lock_name, run_id, hostname, pid, acquired_at FROM migration_locks"
            " WHERE lock_name = ?", (lock_name,))
        return LockInfo(*rows[0]) if rows else None

    # -- systems ---------------------------------------------------------------------------
    def ensure_system(self, system_id: str, *, stack: str | None, wave: int | None) -> SystemRecord:
        """Register a system as `planned` unless the ledger already knows it."""
        with self._tx() as cur:
            self._exec(
                cur,
                "INSERT INTO migration_systems (system_id, stack, wave, state, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (system_id) DO NOTHING",
                (system_id, stack, wave, "planned", now()),
            )
        rec = self.system(system_id)
        assert rec is not None
        return rec

    def system(self, system_id: str) -> SystemRecord | None:
        rows = self._query(
            f"SELECT {SYSTEM_COLUMNS} FROM migration_systems WHERE system_id = ?", (system_id,))
        if not rows:
            return None
        return system_record(rows[0])

    def systems(self, wave: int | None = None) -> list[SystemRecord]:
        sql = f"SELECT {SYSTEM_COLUMNS} FROM migration_systems"
        params: tuple[Any, ...] = ()
        if wave is not None:
            sql += " WHERE wave = ?"
            params = (wave,)
        return [system_record(r) for r in self._query(sql + " ORDER BY system_id", params)]

    def set_state(
        self,
        system_id: str,
        state: State,
        *,
        rollback_pending: bool | None = None,
        last_error: str | None = None,
        clear_error: bool = False,
    ) -> None:
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}")
        sets = ["state = ?", "updated_at = ?"]
        params: list[Any] = [state, now()]
        if rollback_pending is not None:
            sets.append("rollback_pending = ?")
            params.append(1 if rollback_pending else 0)
        if last_error is not None:
            sets.append("last_error = ?")
            params.append(last_error)
        elif clear_error:
            sets.append("last_error = NULL")
        with self._tx() as cur:
            self._exec(cur, f"UPDATE migration_systems SET {', '.join(sets)} WHERE system_id = ?",
                       (*params, system_id))

    def mark_freeze_start(self, system_id: str, at: str) -> None:
        with self._tx() as cur:
            self._exec(cur, "UPDATE migration_systems SET freeze_started_at = ?, serving_at = NULL,"
                       " downtime_seconds = NULL WHERE system_id = ?", (at, system_id))

    def mark_serving(self, system_id: str, at: str) -> float | None:
        """Record the moment the target served; returns the downtime since the freeze."""
        rec = self.system(system_id)
        downtime = None
        if rec is not None and rec.freeze_started_at:
            downtime = (parse_time(at) - parse_time(rec.freeze_started_at)).total_seconds()
        with self._tx() as cur:
            self._exec(cur, "UPDATE migration_systems SET serving_at = ?, downtime_seconds = ?"
                       " WHERE system_id = ?", (at, downtime, system_id))
        return downtime

    # -- events ----------------------------------------------------------------------------
    def record(
        self,
        system_id: str,
        step: Step | str,
        outcome: str,
        *,
        run_id: str | None = None,
        state_before: str | None = None,
        state_after: str | None = None,
        host: str | None = None,
        task: str | None = None,
        detail: str | None = None,
        playbook_run: str | None = None,
        started_at: str | None = None,
        finished_at: str | None = None,
    ) -> str:
        """Append an event (never updated except to close a `started` one)."""
        event_id = str(uuid.uuid4())
        with self._tx() as cur:
            self._exec(
                cur,
                "INSERT INTO migration_events (event_id, seq, run_id, system_id, step, outcome,"
                " state_before, state_after, host, task, detail, playbook_run, started_at,"
                " finished_at) SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                " ?, ?, ? FROM migration_events",
                (event_id, run_id, system_id, step, outcome, state_before, state_after, host,
                 task, detail, playbook_run, started_at or now(), finished_at),
            )
        return event_id

    def finish(self, event_id: str, outcome: str, *, state_after: str | None = None,
               host: str | None = None, task: str | None = None, detail: str | None = None,
               playbook_run: str | None = None) -> None:
        with self._tx() as cur:
            self._exec(
                cur,
                "UPDATE migration_events SET outcome = ?, finished_at = ?,"
                " state_after = COALESCE(?, state_after), host = COALESCE(?, host),"
                " task = COALESCE(?, task), detail = COALESCE(?, detail),"
                " playbook_run = COALESCE(?, playbook_run) WHERE event_id = ?",
                (outcome, now(), state_after, host, task, detail, playbook_run, event_id),
            )

    def close_interrupted(self, run_id: str) -> int:
        """Close the `started` events of runs that died (not `run_id`): outcome interrupted."""
        rows = self._query("SELECT event_id FROM migration_events WHERE finished_at IS NULL"
                           " AND outcome = ? AND (run_id IS NULL OR run_id <> ?)",
                           ("started", run_id))
        with self._tx() as cur:
            for (event_id,) in rows:
                self._exec(cur, "UPDATE migration_events SET outcome = ?, finished_at = ?,"
                           " detail = COALESCE(detail, ?) WHERE event_id = ?",
                           ("interrupted", now(), "the runner stopped before this step ended",
                            event_id))
        return len(rows)

    def events(self, system_id: str | None = None) -> list[Event]:
        sql = ("SELECT event_id, run_id, system_id, step, outcome, state_before, state_after,"
               " host, task, detail, playbook_run, started_at, finished_at"
               " FROM migration_events")
        params: tuple[Any, ...] = ()
        if system_id is not None:
            sql += " WHERE system_id = ?"
            params = (system_id,)
        return [Event(*r) for r in self._query(sql + " ORDER BY seq, started_at", params)]

    # -- data manifests --------------------------------------------------------------------
    def put_manifest(self, system_id: str, host: str, kind: str, name: str, digest: str) -> None:
        with self._tx() as cur:
            self._exec(
                cur,
                "INSERT INTO data_manifests (system_id, host, kind, name, digest, recorded_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (system_id, host, kind, name)"
                " DO UPDATE SET digest = excluded.digest, recorded_at = excluded.recorded_at",
                (system_id, host, kind, name, digest, now()),
            )

    def manifests(self, system_id: str, kind: str | None = None) -> dict[tuple[str, str, str], str]:
        """(host, kind, name) -> digest for a system."""
        sql = "SELECT host, kind, name, digest FROM data_manifests WHERE system_id = ?"
        params: tuple[Any, ...] = (system_id,)
        if kind is not None:
            sql += " AND kind = ?"
            params = (system_id, kind)
        return {(h, k, n): d for h, k, n, d in self._query(sql, params)}


def system_record(row: tuple[Any, ...]) -> SystemRecord:
    (sid, stack, wave, state, pending, err, freeze, serving, downtime, updated) = row
    return SystemRecord(
        system_id=sid,
        stack=stack,
        wave=wave,
        state=state,
        rollback_pending=bool(pending),
        last_error=err,
        freeze_started_at=freeze,
        serving_at=serving,
        downtime_seconds=downtime,
        updated_at=updated,
    )
