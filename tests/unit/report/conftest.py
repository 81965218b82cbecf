"""A small ledger over the sample census's plan, written with the ledger's normal write API
(the browser test, tests/integration/test_dashboard.py, writes the same one)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from onecloud.contract import Ledger, LedgerView
from onecloud.paths import PROJECT_ROOT
from onecloud.plan import load_plan
from onecloud.report import figures

PLAN = PROJECT_ROOT / "inventory" / "plan.yml"
#: after the sample plan's wave 1 deadline (2026-12-10): whatever is not completed is late
LATE = date(2026, 12, 20)
EARLY = date(2026, 12, 1)
HOSTILE = 'rsync 23 <script>alert(1)</script> & "quoted"'


def write_ledger(path: Path) -> None:
    """edu-portal completed (90 s downtime), health-permits failed, civil-ledger moving."""
    led = Ledger.open(path)
    try:
        for sid in ("edu-portal", "health-permits", "civil-ledger"):
            led.ensure_system(sid, stack="lab", wave=1)
        led.set_state("edu-portal", "frozen")
        led.mark_freeze_start("edu-portal", "2026-12-03T10:00:00.000Z")
        led.mark_serving("edu-portal", "2026-12-03T10:01:30.000Z")
        led.set_state("edu-portal", "completed")
        led.set_state("health-permits", "presynced", rollback_pending=True, last_error=HOSTILE)
        led.set_state("civil-ledger", "synced")
    finally:
        led.close()


@pytest.fixture
def ledger_file(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.sqlite"
    write_ledger(path)
    return path


@pytest.fixture
def late_doc(ledger_file: Path) -> dict[str, Any]:
    """The figures document after wave 1's deadline."""
    return figures(load_plan(PLAN), LedgerView.read(ledger_file), today=LATE)
