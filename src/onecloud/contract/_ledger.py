"""The migration ledger: every transition of every system, with who, when, where and why.

SQLite by default (a file under `onecloud.paths.state_dir()`, outside git). The schema is plain
SQL that PostgreSQL runs unchanged (VARCHAR/TEXT/INTEGER/DOUBLE PRECISION, ISO-8601 UTC
timestamps as text, `INSERT ... ON CONFLICT` upserts), so a team can share one ledger that
several controllers use as their work queue (`psycopg` talks to PostgreSQL).

Events are ordered by `seq`, unique and indexed. Writers never race for it: SQLite writes in
`BEGIN IMMEDIATE` transactions (one writer at a time across processes, so `MAX(seq) + 1` over
the index is safe), PostgreSQL draws it from the sequence `migration_events_seq`.

A wave lock row makes a second runner on the same wave refuse, also when both insert it at
the same moment. A lock left by a runner that was killed on this machine (its PID is gone) is
taken over, and the takeover is recorded. Only the steps of runs that are over (see
`Ledger.close_interrupted`) are ever closed as interrupted: a runner on another wave keeps its
trail.

A PostgreSQL URL is shown (`Ledger.where`, errors) and stored (the run's argv) with its
password masked (`public_url`, `mask_secrets`).
"""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from onecloud import paths
from onecloud.contract._states import STATES, State, Step
from onecloud.errors import MigrationError, UsageError

__all__ = [
    "CERTIFICATE_COLUMNS",
    "INTERRUPTED_DETAIL",
    "RETIREMENT_COLUMNS",
    "SCHEMA",
    "SCHEMA_VERSION",
    "SYSTEM_COLUMNS",
    "Certificate",
    "Event",
    "Ledger",
    "LedgerError",
    "LockInfo",
    "RetirementRecord",
    "SystemRecord",
    "default_path",
    "mask_secrets",
    "now",
    "public_url",
    "resolve",
]

#: 1 -> 2: events got `seq` (timestamps can tie); 2 -> 3: `seq` is unique and indexed (and
#: drawn from a sequence on PostgreSQL), open events are indexed by run; 3 -> 4: retirements
#: (`retirements`: each retired system's state and latest evidence; `retirement_certificates`:
#: one per retirement, kept after a restore)
SCHEMA_VERSION = 4

_TABLES: tuple[str, ...] = (
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
    """CREATE TABLE IF NOT EXISTS retirements (
        system_id VARCHAR(128) PRIMARY KEY,
        wave INTEGER,
        state VARCHAR(16) NOT NULL,
        verdict VARCHAR(16),
        evidence TEXT,
        evidence_at VARCHAR(32),
        notice_at VARCHAR(32),
        confirmed_by TEXT,
        confirm_reason TEXT,
        confirmed_at VARCHAR(32),
        certificate_id VARCHAR(64),
        last_error TEXT,
        updated_at VARCHAR(32) NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS retirement_certificates (
        certificate_id VARCHAR(64) PRIMARY KEY,
        system_id VARCHAR(128) NOT NULL,
        run_id VARCHAR(64),
        issued_at VARCHAR(32) NOT NULL,
        manifest_digest VARCHAR(64) NOT NULL,
        archive_dir TEXT NOT NULL,
        archive_bytes INTEGER NOT NULL,
        archive_files INTEGER NOT NULL,
        confirmed_by TEXT NOT NULL,
        confirm_reason TEXT NOT NULL,
        confirmed_at VARCHAR(32) NOT NULL,
        addresses TEXT NOT NULL,
        body TEXT NOT NULL,
        body_sha256 VARCHAR(64) NOT NULL,
        restored_at VARCHAR(32),
        restored_by TEXT
    )""",
)

#: created after the upgrades (the unique one needs `seq` renumbered first)
_INDEXES: tuple[str, ...] = (
    """CREATE INDEX IF NOT EXISTS migration_events_system
        ON migration_events (system_id, started_at)""",
    """CREATE UNIQUE INDEX IF NOT EXISTS migration_events_order
        ON migration_events (seq)""",
    """CREATE INDEX IF NOT EXISTS migration_events_open
        ON migration_events (run_id) WHERE finished_at IS NULL""",
    """CREATE INDEX IF NOT EXISTS retirement_certificates_system
        ON retirement_certificates (system_id, issued_at)""",
)

#: portable DDL (SQLite and PostgreSQL); one statement per item
SCHEMA: tuple[str, ...] = _TABLES + _INDEXES

#: PostgreSQL only: where `seq` comes from, so concurrent writers never read MAX(seq)
_PG_SEQUENCE = "migration_events_seq"

#: serializes schema creation and upgrades between PostgreSQL sessions (an advisory lock key)
_PG_SCHEMA_LOCK = 0x6F6E65636C6F7564  # "onecloud"

#: the detail `close_interrupted` gives a step it closes (a later `finish` replaces it)
INTERRUPTED_DETAIL = "the runner stopped before this step ended"


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


#: `scheme://user:password@` (libpq ends the user info at the first `/`)
_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/?#@]*):[^\s/@]*@")
#: `password=...` in a URL's query or a libpq keyword string
_KEY_PASSWORD = re.compile(r"(?i)\b(password=)[^\s&]+")


def mask_secrets(text: str) -> str:
    """`text` with the password of every URL in it (and every `password=`) shown as ***."""
    return _KEY_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1:***@", text))


def public_url(url: str) -> str:
    """A ledger URL fit to print and store: `postgresql://user:***@host:port/db`."""
    return mask_secrets(url)


def _scrub(exc: BaseException, url: str | None = None) -> str:
    """A driver error's text without the ledger's password (in case it quotes it)."""
    text = mask_secrets(" ".join(str(exc).split()))
    password = urlsplit(url).password if url else None
    for secret in {password, unquote(password)} if password else ():
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def _public_argv(argv: Sequence[str]) -> list[str]:
    """The command line as stored in `migration_runs.argv`: every password masked (also in
    `--ledger URL` and `--ledger=URL`)."""
    return [mask_secrets(str(a)) for a in argv]


def _psycopg(url: str) -> Any:
    """The psycopg module, or a UsageError saying it is needed for this ledger."""
    try:
        import psycopg
    except ImportError as exc:
        raise UsageError(
            f"the ledger {public_url(url)} is PostgreSQL but psycopg is not installed",
            hint="pip install 'psycopg[binary]', or use a SQLite ledger file",
        ) from exc
    return psycopg


class LedgerError(MigrationError):
    """The ledger could not be read or written while in use (its server went away, its file
    stayed locked). The message names the ledger, password masked."""


#: the columns of `migration_systems` in `SystemRecord` order (see `system_record`)
SYSTEM_COLUMNS = (
    "system_id, stack, wave, state, rollback_pending, last_error,"
    " freeze_started_at, serving_at, downtime_seconds, updated_at"
)


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


#: the columns of `retirements` in `RetirementRecord` order
RETIREMENT_COLUMNS = (
    "system_id, wave, state, verdict, evidence, evidence_at, notice_at, confirmed_by,"
    " confirm_reason, confirmed_at, certificate_id, last_error, updated_at"
)

#: the columns of `retirement_certificates` in `Certificate` order
CERTIFICATE_COLUMNS = (
    "certificate_id, system_id, run_id, issued_at, manifest_digest, archive_dir, archive_bytes,"
    " archive_files, confirmed_by, confirm_reason, confirmed_at, addresses, body, body_sha256,"
    " restored_at, restored_by"
)


@dataclass(frozen=True)
class RetirementRecord:
    """Where a system the plan retires stands: `noticed` (evidence agrees, notice given),
    `held` (fresh evidence says it is used), `retired`, `restored`, or `failed` (`last_error`).
    `evidence` is the latest probe's JSON; `certificate_id` names the current certificate."""

    system_id: str
    wave: int | None
    state: str
    verdict: str | None
    evidence: str | None
    evidence_at: str | None
    notice_at: str | None
    confirmed_by: str | None
    confirm_reason: str | None
    confirmed_at: str | None
    certificate_id: str | None
    last_error: str | None
    updated_at: str


@dataclass(frozen=True)
class Certificate:
    """A retirement certificate: what was seen, what was archived (the manifest's digest), who
    confirmed and when. `body` is the whole certificate as JSON, `body_sha256` its digest."""

    certificate_id: str
    system_id: str
    run_id: str | None
    issued_at: str
    manifest_digest: str
    archive_dir: str
    archive_bytes: int
    archive_files: int
    confirmed_by: str
    confirm_reason: str
    confirmed_at: str
    addresses: str  # JSON list of {host, address}
    body: str
    body_sha256: str
    restored_at: str | None
    restored_by: str | None


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


def _run_is_over(owner: str | None, finished_at: str | None, me: str) -> bool:
    """A run that recorded its end, or whose process (`owner` is host:pid) is gone here."""
    if finished_at is not None:
        return True
    host, _, pid = (owner or "").rpartition(":")
    return host == me and pid.isdigit() and not _pid_alive(int(pid))


_LOCK_COLUMNS = "lock_name, run_id, hostname, pid, acquired_at"

#: SQLite result codes that mean the file cannot be used now (not a bug in the SQL)
_SQLITE_OUTAGES = (
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_IOERR",
    "SQLITE_FULL",
    "SQLITE_READONLY",
    "SQLITE_CANTOPEN",
    "SQLITE_PROTOCOL",
    "SQLITE_CORRUPT",
    "SQLITE_NOTADB",
)


class Ledger:
    """One connection to the ledger; safe to share between the runner's threads."""

    def __init__(
        self,
        conn: Any,
        *,
        paramstyle: str = "qmark",
        where: str = "",
        connect: Callable[[], Any] | None = None,
    ) -> None:
        """`conn` is a sqlite3 (qmark) or psycopg (format) connection; `where` names the
        ledger in messages (no password); `connect` makes a new PostgreSQL connection when
        the old one was lost (the next call reconnects)."""
        self._conn = conn
        self._qmark = paramstyle == "qmark"
        self._connect = connect
        self._mutex = threading.RLock()
        self.where = where
        try:
            self._init_schema()
        except BaseException:
            self._close_quietly()
            raise

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def open(cls, target: str | Path | None = None) -> Ledger:
        """Open (creating if needed) the ledger at a path or URL.

        `target` may be a file path, `sqlite:///abs/path` or `postgresql://...` (needs the
        `psycopg` package). None means $ONECLOUD_LEDGER, else the default SQLite file.
        """
        where = resolve(target)
        if isinstance(where, str):
            return cls._open_postgres(where)
        path = where
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=30000")
        except (OSError, sqlite3.Error) as exc:
            raise UsageError(
                f"cannot open the migration ledger {path}: {exc}",
                hint="check the path and its permissions, or set ONECLOUD_LEDGER",
            ) from exc
        return cls(conn, paramstyle="qmark", where=str(path))

    @classmethod
    def _open_postgres(cls, url: str) -> Ledger:
        psycopg = _psycopg(url)
        shown = public_url(url)
        options = {} if "connect_timeout" in url else {"connect_timeout": 10}

        def connect() -> Any:
            return psycopg.connect(url, autocommit=False, **options)

        try:
            conn = connect()
        except psycopg.Error as exc:
            raise UsageError(
                f"cannot open the migration ledger {shown}: {_scrub(exc, url)}",
                hint="check the URL, that the server runs and lets this user in, or use a"
                " SQLite ledger file",
            ) from exc
        return cls(conn, paramstyle="format", where=shown, connect=connect)

    def close(self) -> None:
        with self._mutex:
            self._close_quietly()

    def _close_quietly(self) -> None:
        with suppress(Exception):  # a lost connection is closed either way
            self._conn.close()

    # -- low level -------------------------------------------------------------------------
    def _sql(self, sql: str) -> str:
        return sql if self._qmark else sql.replace("?", "%s")

    def _outage(self, exc: BaseException) -> bool:
        """The database is unavailable (not a bug in our SQL): lost server, locked file."""
        if self._qmark:  # sqlite3 raises OperationalError for bad SQL too: look at the code
            name = getattr(exc, "sqlite_errorname", "") if isinstance(exc, sqlite3.Error) else ""
            return name.startswith(_SQLITE_OUTAGES)
        psycopg = _psycopg(self.where)
        return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)

    def _unavailable(self, exc: BaseException) -> LedgerError:
        what = (
            "that no other process keeps the file locked and its disk has room"
            if self._qmark
            else "that its database server runs and is reachable"
        )
        return LedgerError(
            f"the migration ledger {self.where} is unavailable: {_scrub(exc)}",
            hint=f"check {what}, then run the same command again: it resumes",
        )

    def _connection(self) -> Any:
        """The live connection; a lost PostgreSQL connection is replaced (between
        transactions, so nothing half-done is retried)."""
        if self._connect is not None and getattr(self._conn, "closed", False):
            try:
                self._conn = self._connect()
            except Exception as exc:
                if self._outage(exc):
                    raise self._unavailable(exc) from exc
                raise
        return self._conn

    def _rollback(self) -> None:
        with suppress(Exception):  # the connection is gone: nothing to roll back
            self._conn.rollback()

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        """One write transaction (SQLite: BEGIN IMMEDIATE, one writer across processes)."""
        with self._mutex:
            cur = None
            try:
                cur = self._connection().cursor()
                if self._qmark:
                    cur.execute("BEGIN IMMEDIATE")
            except Exception as exc:
                if cur is not None:
                    cur.close()
                if self._outage(exc):
                    raise self._unavailable(exc) from exc
                raise
            try:
                yield cur
                if self._qmark:
                    cur.execute("COMMIT")
                else:
                    self._conn.commit()
            except BaseException as exc:
                self._rollback()
                if isinstance(exc, Exception) and self._outage(exc):
                    raise self._unavailable(exc) from exc
                raise
            finally:
                with suppress(Exception):
                    cur.close()

    def _exec(self, cur: Any, sql: str, params: Sequence[Any] = ()) -> None:
        cur.execute(self._sql(sql), tuple(params))

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._mutex:
            try:
                cur = self._connection().cursor()
                try:
                    cur.execute(self._sql(sql), tuple(params))
                    return list(cur.fetchall())
                finally:
                    cur.close()
                    if not self._qmark:
                        self._conn.commit()
            except Exception as exc:
                if not self._qmark:
                    self._rollback()
                if self._outage(exc):
                    raise self._unavailable(exc) from exc
                raise

    # -- schema ----------------------------------------------------------------------------
    def _schema_version(self) -> int | None:
        """The ledger's schema version, None if it has no `ledger_meta` table yet."""
        exists = (
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'ledger_meta'"
            if self._qmark
            else "SELECT to_regclass('ledger_meta')"
        )
        found = self._query(exists)
        if not found or found[0][0] is None:
            return None
        rows = self._query("SELECT value FROM ledger_meta WHERE name = ?", ("schema_version",))
        return int(rows[0][0]) if rows else None

    def _refuse_newer(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise UsageError(
                f"the migration ledger {self.where} has schema version {version}; this onecloud"
                f" knows up to {SCHEMA_VERSION}",
                hint="upgrade onecloud on this controller to the version the others run",
            )

    def _init_schema(self) -> None:
        """Create the tables, or upgrade an older ledger; nothing to do (no DDL, no lock) when
        the schema is current."""
        version = self._schema_version()
        if version is not None:
            self._refuse_newer(version)
            if version == SCHEMA_VERSION:
                return
        with self._tx() as cur:
            if not self._qmark:  # one session creates or upgrades, the others wait and see it
                self._exec(cur, f"SELECT pg_advisory_xact_lock({_PG_SCHEMA_LOCK})")
            for stmt in _TABLES:
                self._exec(cur, stmt)
            if not self._qmark:
                self._exec(cur, f"CREATE SEQUENCE IF NOT EXISTS {_PG_SEQUENCE}")
            self._exec(
                cur,
                "INSERT INTO ledger_meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                ("schema_version", str(SCHEMA_VERSION)),
            )
            self._exec(cur, "SELECT value FROM ledger_meta WHERE name = ?", ("schema_version",))
            version = int(cur.fetchone()[0])
            self._refuse_newer(version)
            if version < 2:  # 1 -> 2: events get an explicit order (timestamps can tie)
                self._exec(cur, "ALTER TABLE migration_events ADD COLUMN seq INTEGER")
            if version < 3:  # 2 -> 3: seq unique (renumbered if it is not) and indexed
                self._renumber_events(cur)
                if not self._qmark:
                    self._exec(
                        cur,
                        f"SELECT setval('{_PG_SEQUENCE}', COALESCE(MAX(seq), 0) + 1, false)"
                        " FROM migration_events",
                    )
            for stmt in _INDEXES:
                self._exec(cur, stmt)
            if version < SCHEMA_VERSION:
                self._exec(
                    cur,
                    "UPDATE ledger_meta SET value = ? WHERE name = ?",
                    (str(SCHEMA_VERSION), "schema_version"),
                )

    def _renumber_events(self, cur: Any) -> None:
        """Give every event a distinct `seq` in its order (events from before `seq`, which have
        none, first by time; ties of concurrent writers by time), unless they already have."""
        self._exec(cur, "SELECT COUNT(*), COUNT(seq), COUNT(DISTINCT seq) FROM migration_events")
        total, with_seq, distinct = cur.fetchone()
        if total == with_seq == distinct:
            return
        self._exec(
            cur,
            "SELECT event_id FROM migration_events ORDER BY"
            " CASE WHEN seq IS NULL THEN 0 ELSE 1 END, seq, started_at, event_id",
        )
        order = [(n, event_id) for n, (event_id,) in enumerate(cur.fetchall(), start=1)]
        cur.executemany(self._sql("UPDATE migration_events SET seq = ? WHERE event_id = ?"), order)

    # -- locks and runs --------------------------------------------------------------------
    def _held(self, cur: Any, lock_name: str) -> LockInfo | None:
        self._exec(
            cur, f"SELECT {_LOCK_COLUMNS} FROM migration_locks WHERE lock_name = ?", (lock_name,)
        )
        row = cur.fetchone()
        return LockInfo(*row) if row is not None else None

    def _held_error(self, held: LockInfo) -> MigrationError:
        return MigrationError(
            f"{held.lock_name} is being migrated by another runner (run {held.run_id}, "
            f"pid {held.pid} on {held.hostname}, since {held.acquired_at}); "
            f"ledger {self.where}",
            hint="wait for it to finish; if that runner is gone for good, run "
            f"`onecloud migrate unlock --lock {held.lock_name}`",
        )

    def acquire(self, lock_name: str, run_id: str, argv: Sequence[str] = ()) -> LockInfo | None:
        """Take the lock `lock_name` (e.g. "wave:1") for this run.

        Returns the stale lock that was taken over (its runner died on this machine), or None.
        Raises MigrationError naming the holder when another live runner has it, also when
        that runner took it at the same moment. `argv` is stored with passwords masked; a run
        may hold several locks (one `migration_runs` row).
        """
        me = socket.gethostname()
        for _attempt in range(3):
            taken_over: LockInfo | None = None
            with self._tx() as cur:
                held = self._held(cur, lock_name)
                if held is not None:
                    if held.hostname != me or _pid_alive(held.pid):
                        raise self._held_error(held)
                    taken_over = held
                    self._exec(
                        cur,
                        "DELETE FROM migration_locks WHERE lock_name = ? AND run_id = ?"
                        " AND pid = ?",
                        (lock_name, held.run_id, held.pid),
                    )
                    self._exec(
                        cur,
                        "UPDATE migration_runs SET outcome = ?, finished_at = ? WHERE run_id = ?"
                        " AND finished_at IS NULL",
                        ("killed", now(), held.run_id),
                    )
                # a racing runner's insert makes this one do nothing (PostgreSQL waits for it
                # to commit): never a unique violation
                self._exec(
                    cur,
                    f"INSERT INTO migration_locks ({_LOCK_COLUMNS}) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (lock_name) DO NOTHING",
                    (lock_name, run_id, me, os.getpid(), now()),
                )
                if cur.rowcount == 1:
                    self._exec(
                        cur,
                        "INSERT INTO migration_runs (run_id, lock_name, owner, argv, started_at)"
                        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (run_id) DO NOTHING",
                        (
                            run_id,
                            lock_name,
                            f"{me}:{os.getpid()}",
                            json.dumps(_public_argv(argv)),
                            now(),
                        ),
                    )
                    return taken_over
                winner = self._held(cur, lock_name)
                if winner is not None and (winner.hostname != me or _pid_alive(winner.pid)):
                    raise self._held_error(winner)
            # the winner is already gone again: look once more
        raise MigrationError(
            f"{lock_name}: the lock changed hands three times while this runner tried to take"
            f" it; ledger {self.where}",
            hint="another runner is starting and stopping on this wave: run the command again",
        )

    def release(self, lock_name: str, run_id: str, outcome: str) -> None:
        with self._tx() as cur:
            self._exec(
                cur,
                "DELETE FROM migration_locks WHERE lock_name = ? AND run_id = ?",
                (lock_name, run_id),
            )
            self._exec(
                cur,
                "UPDATE migration_runs SET outcome = ?, finished_at = ? WHERE run_id = ?",
                (outcome, now(), run_id),
            )

    def force_unlock(self, lock_name: str) -> LockInfo | None:
        """Remove a lock whatever holds it (the operator's explicit decision that its runner
        is gone for good: its run is recorded as over, `unlocked`)."""
        held = self.lock(lock_name)
        with self._tx() as cur:
            self._exec(cur, "DELETE FROM migration_locks WHERE lock_name = ?", (lock_name,))
            if held is not None:
                self._exec(
                    cur,
                    "UPDATE migration_runs SET outcome = ?, finished_at = ? WHERE run_id = ?"
                    " AND finished_at IS NULL",
                    ("unlocked", now(), held.run_id),
                )
        return held

    def lock(self, lock_name: str) -> LockInfo | None:
        rows = self._query(
            f"SELECT {_LOCK_COLUMNS} FROM migration_locks WHERE lock_name = ?", (lock_name,)
        )
        return LockInfo(*rows[0]) if rows else None

    def run_argv(self, run_id: str) -> list[str] | None:
        """The command line a run was started with, as stored (passwords masked)."""
        rows = self._query("SELECT argv FROM migration_runs WHERE run_id = ?", (run_id,))
        return json.loads(rows[0][0]) if rows and rows[0][0] is not None else None

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
            f"SELECT {SYSTEM_COLUMNS} FROM migration_systems WHERE system_id = ?", (system_id,)
        )
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
            self._exec(
                cur,
                f"UPDATE migration_systems SET {', '.join(sets)} WHERE system_id = ?",
                (*params, system_id),
            )

    def mark_freeze_start(self, system_id: str, at: str) -> None:
        with self._tx() as cur:
            self._exec(
                cur,
                "UPDATE migration_systems SET freeze_started_at = ?, serving_at = NULL,"
                " downtime_seconds = NULL WHERE system_id = ?",
                (at, system_id),
            )

    def mark_serving(self, system_id: str, at: str) -> float | None:
        """Record the moment the target served; returns the downtime since the freeze."""
        rec = self.system(system_id)
        downtime = None
        if rec is not None and rec.freeze_started_at:
            downtime = (parse_time(at) - parse_time(rec.freeze_started_at)).total_seconds()
        with self._tx() as cur:
            self._exec(
                cur,
                "UPDATE migration_systems SET serving_at = ?, downtime_seconds = ?"
                " WHERE system_id = ?",
                (at, downtime, system_id),
            )
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
        # SQLite: the writer is alone (BEGIN IMMEDIATE) and MAX reads the unique index
        seq = (
            "(SELECT COALESCE(MAX(seq), 0) + 1 FROM migration_events)"
            if self._qmark
            else f"nextval('{_PG_SEQUENCE}')"
        )
        with self._tx() as cur:
            self._exec(
                cur,
                "INSERT INTO migration_events (event_id, seq, run_id, system_id, step, outcome,"
                " state_before, state_after, host, task, detail, playbook_run, started_at,"
                f" finished_at) VALUES (?, {seq}, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    event_id,
                    run_id,
                    system_id,
                    step,
                    outcome,
                    state_before,
                    state_after,
                    host,
                    task,
                    detail,
                    playbook_run,
                    started_at or now(),
                    finished_at,
                ),
            )
        return event_id

    def finish(
        self,
        event_id: str,
        outcome: str,
        *,
        state_after: str | None = None,
        host: str | None = None,
        task: str | None = None,
        detail: str | None = None,
        playbook_run: str | None = None,
    ) -> None:
        """Close an event with its outcome. The runner that finishes a step knows best: if
        the step had been closed as interrupted meanwhile, its outcome and detail (not the
        interruption's) are what stays."""
        with self._tx() as cur:
            self._exec(
                cur,
                "UPDATE migration_events SET outcome = ?, finished_at = ?,"
                " state_after = COALESCE(?, state_after), host = COALESCE(?, host),"
                " task = COALESCE(?, task),"
                " detail = CASE WHEN outcome = ? AND detail = ? THEN ?"
                " ELSE COALESCE(?, detail) END,"
                " playbook_run = COALESCE(?, playbook_run) WHERE event_id = ?",
                (
                    outcome,
                    now(),
                    state_after,
                    host,
                    task,
                    "interrupted",
                    INTERRUPTED_DETAIL,
                    detail,
                    detail,
                    playbook_run,
                    event_id,
                ),
            )

    def close_interrupted(self, run_id: str, *, of_runs: Sequence[str] | None = None) -> int:
        """Close the `started` events of runs that are over: outcome `interrupted`. Returns
        how many.

        `of_runs`: exactly these runs (e.g. those whose locks `acquire` took over); never
        `run_id` itself. None (the default) closes only the runs that are provably over: they
        hold no lock any more, and they recorded their end (released, taken over, unlocked)
        or their PID is gone on this machine. A live runner on another wave, here or on
        another controller, keeps its open steps; so do events of no run.
        """
        me = socket.gethostname()
        with self._tx() as cur:
            if of_runs is None:
                self._exec(
                    cur,
                    "SELECT DISTINCT e.run_id, r.owner, r.finished_at FROM migration_events e"
                    " LEFT JOIN migration_runs r ON r.run_id = e.run_id"
                    " WHERE e.finished_at IS NULL AND e.outcome = ? AND e.run_id IS NOT NULL"
                    " AND e.run_id <> ? AND NOT EXISTS"
                    " (SELECT 1 FROM migration_locks l WHERE l.run_id = e.run_id)",
                    ("started", run_id),
                )
                over = [
                    rid for rid, owner, ended in cur.fetchall() if _run_is_over(owner, ended, me)
                ]
            else:
                over = [rid for rid in dict.fromkeys(of_runs) if rid != run_id]
            closed = 0
            for rid in sorted(over):
                self._exec(
                    cur,
                    "UPDATE migration_events SET outcome = ?, finished_at = ?,"
                    " detail = COALESCE(detail, ?)"
                    " WHERE run_id = ? AND finished_at IS NULL AND outcome = ?",
                    ("interrupted", now(), INTERRUPTED_DETAIL, rid, "started"),
                )
                closed += max(cur.rowcount, 0)
        return closed

    def events(self, system_id: str | None = None) -> list[Event]:
        sql = (
            "SELECT event_id, run_id, system_id, step, outcome, state_before, state_after,"
            " host, task, detail, playbook_run, started_at, finished_at"
            " FROM migration_events"
        )
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

    # -- retirements -----------------------------------------------------------------------
    #: the fields `put_retirement` may set (besides state)
    _RETIREMENT_FIELDS = (
        "wave",
        "verdict",
        "evidence",
        "evidence_at",
        "notice_at",
        "confirmed_by",
        "confirm_reason",
        "confirmed_at",
        "certificate_id",
        "last_error",
    )

    def put_retirement(self, system_id: str, state: str, **fields: Any) -> RetirementRecord:
        """Create or update a system's retirement row: `state` and the given fields (a field
        given as None is cleared; one not given is kept)."""
        unknown = set(fields) - set(self._RETIREMENT_FIELDS)
        if unknown:
            raise ValueError(f"unknown retirement field(s): {', '.join(sorted(unknown))}")
        stamp = now()
        cols = ["state", "updated_at", *fields]
        vals = [state, stamp, *fields.values()]
        sets = ", ".join(f"{c} = excluded.{c}" for c in cols)
        with self._tx() as cur:
            self._exec(
                cur,
                f"INSERT INTO retirements (system_id, {', '.join(cols)}) VALUES"
                f" (?, {', '.join('?' for _ in cols)})"
                f" ON CONFLICT (system_id) DO UPDATE SET {sets}",
                (system_id, *vals),
            )
        rec = self.retirement(system_id)
        assert rec is not None
        return rec

    def retirement(self, system_id: str) -> RetirementRecord | None:
        rows = self._query(
            f"SELECT {RETIREMENT_COLUMNS} FROM retirements WHERE system_id = ?", (system_id,)
        )
        return RetirementRecord(*rows[0]) if rows else None

    def retirements(self) -> list[RetirementRecord]:
        rows = self._query(f"SELECT {RETIREMENT_COLUMNS} FROM retirements ORDER BY system_id")
        return [RetirementRecord(*r) for r in rows]

    def add_certificate(self, cert: Certificate) -> None:
        """Store a certificate (append-only; a restore only stamps `restored_at`/`_by`)."""
        with self._tx() as cur:
            self._exec(
                cur,
                f"INSERT INTO retirement_certificates ({CERTIFICATE_COLUMNS}) VALUES"
                " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    cert.certificate_id,
                    cert.system_id,
                    cert.run_id,
                    cert.issued_at,
                    cert.manifest_digest,
                    cert.archive_dir,
                    cert.archive_bytes,
                    cert.archive_files,
                    cert.confirmed_by,
                    cert.confirm_reason,
                    cert.confirmed_at,
                    cert.addresses,
                    cert.body,
                    cert.body_sha256,
                    cert.restored_at,
                    cert.restored_by,
                ),
            )

    def certificate(self, certificate_id: str) -> Certificate | None:
        rows = self._query(
            f"SELECT {CERTIFICATE_COLUMNS} FROM retirement_certificates WHERE certificate_id = ?",
            (certificate_id,),
        )
        return _certificate(rows[0]) if rows else None

    def certificates(self, system_id: str | None = None) -> list[Certificate]:
        sql = f"SELECT {CERTIFICATE_COLUMNS} FROM retirement_certificates"
        params: tuple[Any, ...] = ()
        if system_id is not None:
            sql += " WHERE system_id = ?"
            params = (system_id,)
        return [_certificate(r) for r in self._query(sql + " ORDER BY issued_at", params)]

    def mark_restored(self, certificate_id: str, *, by: str, at: str | None = None) -> None:
        with self._tx() as cur:
            self._exec(
                cur,
                "UPDATE retirement_certificates SET restored_at = ?, restored_by = ?"
                " WHERE certificate_id = ?",
                (at or now(), by, certificate_id),
            )


def _certificate(row: tuple[Any, ...]) -> Certificate:
    values = list(row)
    values[6], values[7] = int(values[6]), int(values[7])
    return Certificate(*values)


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
