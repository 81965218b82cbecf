"""The ledger as `report` reads it: a read-only snapshot of every system's record.

`LedgerView.read` resolves its target exactly as `Ledger.open` does (a path, `sqlite:///...`,
`postgresql://...`, else $ONECLOUD_LEDGER, else the default file) but never creates the file,
its directory or the schema, never writes, and takes no wave lock: SQLite is opened with
`mode=ro` and `query_only`, PostgreSQL in a read-only session. A ledger that is missing, has no
tables yet or cannot be read gives an empty view that says why (`source`). A PostgreSQL URL is
shown with its password masked (`postgresql://user:***@host/db`), also in the error.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from onecloud.contract._ledger import (
    RETIREMENT_COLUMNS,
    SYSTEM_COLUMNS,
    RetirementRecord,
    SystemRecord,
    _psycopg,
    _scrub,
    public_url,
    resolve,
    system_record,
)

__all__ = ["LedgerStatus", "LedgerView"]

#: read: the systems table was read; missing: no ledger file; empty: no migration tables yet;
#: unreadable: the ledger could not be opened or queried (`error` says why)
LedgerStatus = Literal["read", "missing", "empty", "unreadable"]

_SELECT = f"SELECT {SYSTEM_COLUMNS} FROM migration_systems ORDER BY system_id"
_SELECT_RETIREMENTS = f"SELECT {RETIREMENT_COLUMNS} FROM retirements ORDER BY system_id"


@dataclass(frozen=True)
class LedgerView:
    """What the ledger at `where` said when it was read (records ordered by system id)."""

    where: str
    status: LedgerStatus = "read"
    records: tuple[SystemRecord, ...] = ()
    error: str | None = None
    #: the retirements of systems the plan retires (empty in a ledger from before them)
    retirements: tuple[RetirementRecord, ...] = ()

    @classmethod
    def read(cls, target: str | Path | None = None) -> LedgerView:
        """Read the ledger at a path or URL (None: $ONECLOUD_LEDGER, else the default file)."""
        where = resolve(target)
        if isinstance(where, str):
            return _read_postgres(where)
        return _read_sqlite(where)

    @property
    def source(self) -> str:
        """Where the states come from, in words (the report prints it)."""
        if self.status == "missing":
            return f"no ledger at {self.where} (nothing migrated yet)"
        if self.status == "empty":
            return f"ledger {self.where} has no migration tables yet"
        if self.status == "unreadable":
            return f"ledger {self.where} unreadable ({self.error})"
        return f"ledger {self.where}"

    def system(self, system_id: str) -> SystemRecord | None:
        return next((r for r in self.records if r.system_id == system_id), None)

    def systems(self, wave: int | None = None) -> list[SystemRecord]:
        return [r for r in self.records if wave is None or r.wave == wave]

    def by_id(self) -> dict[str, SystemRecord]:
        return {r.system_id: r for r in self.records}

    def retirement(self, system_id: str) -> RetirementRecord | None:
        return next((r for r in self.retirements if r.system_id == system_id), None)

    def retired_ids(self) -> set[str]:
        """The systems whose retirement the ledger records as done (state `retired`)."""
        return {r.system_id for r in self.retirements if r.state == "retired"}


def _read_sqlite(path: Path) -> LedgerView:
    where = str(path)
    if not path.exists():
        return LedgerView(where, "missing")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as exc:
        return LedgerView(where, "unreadable", error=str(exc))
    try:
        conn.execute("PRAGMA query_only = ON")
        found = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migration_systems'"
        ).fetchone()
        if found is None:
            return LedgerView(where, "empty")
        rows = conn.execute(_SELECT).fetchall()
        has_retirements = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'retirements'"
        ).fetchone()
        retired = conn.execute(_SELECT_RETIREMENTS).fetchall() if has_retirements else []
    except sqlite3.Error as exc:
        return LedgerView(where, "unreadable", error=str(exc))
    finally:
        conn.close()
    return LedgerView(
        where,
        "read",
        tuple(system_record(r) for r in rows),
        retirements=tuple(RetirementRecord(*r) for r in retired),
    )


def _read_postgres(url: str) -> LedgerView:
    psycopg = _psycopg(url)
    where = public_url(url)
    conn: Any = None
    try:
        options = {} if "connect_timeout" in url else {"connect_timeout": 10}
        conn = psycopg.connect(url, autocommit=False, **options)
        conn.read_only = True
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('migration_systems')")
            found = cur.fetchone()
            if found is None or found[0] is None:
                return LedgerView(where, "empty")
            cur.execute(_SELECT)
            rows = cur.fetchall()
            cur.execute("SELECT to_regclass('retirements')")
            has_retirements = cur.fetchone()
            retired: list[Any] = []
            if has_retirements is not None and has_retirements[0] is not None:
                cur.execute(_SELECT_RETIREMENTS)
                retired = cur.fetchall()
    except psycopg.Error as exc:
        return LedgerView(where, "unreadable", error=_scrub(exc, url))
    finally:
        if conn is not None:
            conn.close()  # discards the read-only transaction
    return LedgerView(
        where,
        "read",
        tuple(system_record(tuple(r)) for r in rows),
        retirements=tuple(RetirementRecord(*r) for r in retired),
    )
