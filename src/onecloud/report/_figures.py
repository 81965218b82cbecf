"""Progress by department, city and wave: pure, from the plan and a view of the ledger."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from onecloud.contract import LedgerView, SystemRecord
from onecloud.plan import Plan, PlannedSystem

DONE = ("completed", "retired")


@dataclass
class Row:
    key: str
    label: str
    migrate: int = 0
    done: int = 0
    moving: int = 0  # past planned, not yet completed
    failed: int = 0
    waiting: int = 0
    retire_planned: int = 0  # the plan retires them
    retired: int = 0  # the ledger has their retirement certificate (done)
    consolidated: int = 0
    retained: int = 0

    @property
    def percent(self) -> float:
        return 100.0 * self.done / self.migrate if self.migrate else 100.0


@dataclass
class Progress:
    source: str
    total: Row
    by_department: list[Row] = field(default_factory=list)
    by_city: list[Row] = field(default_factory=list)
    by_wave: list[Row] = field(default_factory=list)
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # system, state, detail


def _count(row: Row, s: PlannedSystem, st: SystemRecord | None, retired: bool = False) -> None:
    if s.disposition == "retire":
        row.retire_planned += 1
        row.retired += int(retired)
    elif s.disposition == "consolidate":
        row.consolidated += 1
    elif s.disposition == "retain":
        row.retained += 1
    else:
        row.migrate += 1
        if st is None or (st.state == "planned" and not st.failed):
            row.waiting += 1
        elif st.state in DONE:
            row.done += 1
        elif st.failed:
            row.failed += 1
        else:
            row.moving += 1


def progress(plan: Plan, ledger: LedgerView) -> Progress:
    """The plan's systems counted by the states the ledger holds (none: all waiting)."""
    states = ledger.by_id()
    done_retiring = ledger.retired_ids()
    names = {p.department: p.department_name for p in plan.projects}
    total = Row("all", "programme")
    groups: dict[str, dict[str, Row]] = {"department": {}, "city": {}, "wave": {}}
    keys: dict[str, Callable[[PlannedSystem], tuple[str, str]]] = {
        "department": lambda s: (s.department, names.get(s.department, s.department)),
        "city": lambda s: (s.home_city or "", s.home_city or "province"),
        "wave": lambda s: (f"{s.wave:05d}" if s.wave else "-", str(s.wave or "-")),
    }
    failures = []
    for s in plan.systems:
        st = states.get(s.id)
        gone = s.id in done_retiring
        _count(total, s, st, gone)
        for group, keyfn in keys.items():
            if group == "wave" and s.disposition != "migrate":
                continue
            key, label = keyfn(s)
            row = groups[group].setdefault(key, Row(key, label))
            _count(row, s, st, gone)
        if s.disposition == "migrate" and st is not None and st.failed and st.state not in DONE:
            failures.append((s.id, st.state, st.last_error or "failed"))
    return Progress(
        source=ledger.source,
        total=total,
        by_department=[groups["department"][k] for k in sorted(groups["department"])],
        by_city=[groups["city"][k] for k in sorted(groups["city"])],
        by_wave=[groups["wave"][k] for k in sorted(groups["wave"])],
        failures=sorted(failures),
    )
