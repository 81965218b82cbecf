"""Read migration states from the ledger, read-only and tolerant.

The report never creates or changes the ledger: it opens the SQLite file read-only, and a missing
file or table simply means nothing has moved yet. Two layouts are understood: the migration
runner's `migration_systems` (one row per system with its state) and a plain
`transitions(system_id, wave, step, outcome, ts)` log (the latest row per system wins).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SystemState:
    state: str  # planned, preflighted, ..., completed, retired
    failed: bool = False  # the last step failed or a rollback is pending
    detail: str | None = None  # last error
    updated_at: str | None = None


def read_states(path: Path) -> tuple[dict[str, SystemState], str]:
    """(system id -> state, where it came from); ({}, why) when there is no ledger."""
    if not path.exists():
        return {}, f"no ledger at {path} (nothing migrated yet)"
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as exc:
        return {}, f"ledger {path} unreadable ({exc})"
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "migration_systems" in tables:
            rows = conn.execute(
                "SELECT system_id, state, rollback_pending, last_error, updated_at "
                "FROM migration_systems"
            ).fetchall()
            states = {r[0]: SystemState(r[1], bool(r[2]) or bool(r[3]), r[3], r[4]) for r in rows}
            return states, f"ledger {path}"
        if "transitions" in tables:
            rows = conn.execute(
                "SELECT system_id, step, outcome, ts FROM transitions ORDER BY ts, rowid"
            ).fetchall()
            out: dict[str, SystemState] = {}
            for sid, step, outcome, ts in rows:
                ok = str(outcome).lower() in ("ok", "success", "succeeded", "done", "changed")
                out[sid] = SystemState(str(step), not ok, None if ok else str(outcome), ts)
            return out, f"ledger {path}"
        return {}, f"ledger {path} has no migration tables yet"
    except sqlite3.Error as exc:
        return {}, f"ledger {path} unreadable ({exc})"
    finally:
        conn.close()
