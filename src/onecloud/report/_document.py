"""The figures document: one JSON-able dict from the plan and the ledger's view (pure).

`--format json` prints exactly this document and the HTML page is rendered from it, so the two
never disagree. Planned figures (from the plan) are always kept apart from done figures (from
the ledger). `today` is injected: deadlines are judged against it, never against the clock.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from onecloud.contract import LedgerView, SystemRecord
from onecloud.plan import Plan, PlannedSystem

__all__ = ["BUCKETS", "SCHEMA", "bucket_of", "figures", "status_command"]

#: the document's format; bump on an incompatible change
SCHEMA = "onecloud.report/1"

#: what a planned system's ledger record amounts to, in the order the page shows them
BUCKETS = ("planned", "moving", "failed", "completed")

_DONE_STATES = ("completed", "retired")


def status_command(system_id: str) -> str:
    """The command that shows a system's ledger entry and its audit trail."""
    return f"onecloud migrate status --system {system_id} --events"


def bucket_of(rec: SystemRecord | None) -> str:
    """planned (not started), moving, failed (error or rollback pending) or completed."""
    if rec is not None and rec.state in _DONE_STATES:
        return "completed"
    if rec is not None and rec.failed:
        return "failed"
    if rec is None or rec.state == "planned":
        return "planned"
    return "moving"


def _day(stamp: str | None) -> str | None:
    return stamp[:10] if stamp else None


def _city(s: PlannedSystem) -> str:
    return s.home_city or "province"


def _group_row(key: str, label: str) -> dict[str, Any]:
    return {
        "key": key,
        "label": label,
        "migrate_planned": 0,
        "migrated": 0,
        "moving": 0,
        "failed": 0,
        "waiting": 0,
        "retire_planned": 0,
        "retired": 0,
        "consolidated": 0,
        "retained": 0,
        "behind": 0,
        "behind_schedule": False,
    }


def _count(row: dict[str, Any], s: PlannedSystem, sysrow: dict[str, Any] | None) -> None:
    if s.disposition == "consolidate":
        row["consolidated"] += 1
    elif s.disposition == "retain":
        row["retained"] += 1
    elif s.disposition == "retire":
        row["retire_planned"] += 1
        if sysrow is not None and sysrow.get("retired"):
            row["retired"] += 1
    else:
        assert sysrow is not None
        row["migrate_planned"] += 1
        b = sysrow["state"]
        key = {"completed": "migrated", "planned": "waiting"}.get(b, b)
        row[key] += 1
        if sysrow["behind_schedule"]:
            row["behind"] += 1
            row["behind_schedule"] = True


def _system_row(
    s: PlannedSystem, rec: SystemRecord | None, wave_deadline: str | None, today: str
) -> dict[str, Any]:
    """A system's row; its deadline is its wave's (else its own, from the census)."""
    b = bucket_of(rec)
    deadline = wave_deadline or s.deadline
    return {
        "id": s.id,
        "name": s.name,
        "department": s.department,
        "city": _city(s),
        "wave": s.wave,
        "segment": s.segment,
        "state": b,
        "ledger_state": rec.state if rec else None,
        "rollback_pending": bool(rec and rec.rollback_pending),
        "downtime_seconds": rec.downtime_seconds if rec else None,
        "last_error": rec.last_error if rec else None,
        "updated_at": rec.updated_at if rec else None,
        "completed_on": _day(rec.serving_at or rec.updated_at)
        if b == "completed" and rec
        else None,
        "deadline": deadline,
        "behind_schedule": bool(deadline and deadline < today and b != "completed"),
        "command": status_command(s.id),
    }


def _burnup(rows: list[dict[str, Any]], total: int) -> dict[str, Any]:
    done = Counter(r["completed_on"] for r in rows if r["completed_on"])
    actual, cum = [], 0
    for day in sorted(done):
        cum += done[day]
        actual.append({"date": day, "completed": done[day], "cumulative": cum})
    due = Counter(r["deadline"] for r in rows if r["deadline"])
    planned, cum = [], 0
    for day in sorted(due):
        cum += due[day]
        planned.append({"date": day, "due": due[day], "cumulative": cum})
    return {
        "total": total,
        "actual": actual,
        "planned": planned,
        "undated": sum(1 for r in rows if not r["deadline"]),
        "basis": "a completed system counts on the day its target started serving"
        " (serving_at), else on the day its ledger record last changed (updated_at);"
        " planned: systems due by their wave's deadline",
    }


def figures(plan: Plan, ledger: LedgerView, *, today: date) -> dict[str, Any]:
    """The programme's figures as one JSON-able document (see docs/report.md)."""
    today_s = today.isoformat()
    states = ledger.by_id()
    deadlines = {w.number: w.deadline for w in plan.waves}
    names = {p.department: p.department_name for p in plan.projects}
    notes: list[str] = []
    if ledger.status != "read":
        notes.append(f"no states: {ledger.source}; every system counts as planned")

    rows = {
        s.id: _system_row(s, states.get(s.id), deadlines.get(s.wave or 0), today_s)
        for s in plan.systems
    }
    # retirements of the systems the plan retires: done only when the ledger holds the
    # certificate (`onecloud retire`), never because the plan says so
    retired_ids = ledger.retired_ids()
    for s in plan.systems:
        if s.disposition == "retire":
            rec = ledger.retirement(s.id)
            rows[s.id]["retired"] = s.id in retired_ids
            rows[s.id]["retirement_state"] = rec.state if rec else None
    migrate_rows = [rows[s.id] for s in plan.systems if s.disposition == "migrate"]
    buckets = Counter(r["state"] for r in migrate_rows)
    dispositions = Counter(s.disposition for s in plan.systems)

    by_city: dict[str, dict[str, Any]] = {}
    by_dept: dict[str, dict[str, Any]] = {}
    for s in plan.systems:
        sysrow = rows[s.id] if s.disposition in ("migrate", "retire") else None
        city = by_city.setdefault(_city(s), _group_row(_city(s), _city(s)))
        dept = by_dept.setdefault(
            s.department, _group_row(s.department, names.get(s.department, s.department))
        )
        _count(city, s, sysrow)
        _count(dept, s, sysrow)

    wave_docs = []
    rooms_done: list[str] = []
    networks_done: list[str] = []
    for w in sorted(plan.waves, key=lambda w: w.number):
        members = [rows[s.id] for s in plan.wave_systems(w.number)]
        counts = Counter(r["state"] for r in members)
        complete = bool(members) and counts["completed"] == len(members)
        if complete:
            rooms_done += w.rooms_vacated
            networks_done += w.networks_vacated
        downtimes = [r["downtime_seconds"] for r in members if r["downtime_seconds"] is not None]
        wave_docs.append(
            {
                "number": w.number,
                "deadline": w.deadline,
                "data_gb": w.data_gb,
                "rooms_vacated": list(w.rooms_vacated),
                "networks_vacated": list(w.networks_vacated),
                "notes": list(w.notes),
                "systems_planned": len(members),
                "counts": {b: counts[b] for b in BUCKETS},
                "complete": complete,
                "behind_schedule": any(r["behind_schedule"] for r in members),
                "downtime_seconds_total": sum(downtimes),
                "downtime_seconds_max": max(downtimes, default=None),
                "systems": sorted(members, key=lambda r: r["id"]),
            }
        )

    rooms_planned = sorted({r for w in plan.waves for r in w.rooms_vacated})
    networks_planned = sorted({n for w in plan.waves for n in w.networks_vacated})
    t = plan.totals
    headline: dict[str, Any] = {
        "systems_census": t.systems,
        "systems_planned": len(plan.systems),
        "migrate_planned": dispositions["migrate"],
        "migrated": buckets["completed"],
        "moving": buckets["moving"],
        "failed": buckets["failed"],
        "waiting": buckets["planned"],
        "behind_schedule": sum(1 for r in migrate_rows if r["behind_schedule"]),
        "retire_planned": dispositions["retire"],
        "retired": sum(
            1 for s in plan.systems if s.disposition == "retire" and rows[s.id]["retired"]
        ),
        "retire_held": sum(
            1
            for s in plan.systems
            if s.disposition == "retire" and rows[s.id]["retirement_state"] == "held"
        ),
        "sources_retired": sum(1 for r in migrate_rows if r["ledger_state"] == "retired"),
        "consolidated_planned": dispositions["consolidate"],
        "retained_planned": dispositions["retain"],
        "rooms_before": t.rooms_before,
        "rooms_vacated_planned": len(rooms_planned),
        "rooms_vacated": len(set(rooms_done)),
        "networks_before": t.networks_before,
        "networks_vacated_planned": len(networks_planned),
        "networks_vacated": len(set(networks_done)),
        "waves": len(plan.waves),
        "waves_complete": sum(1 for w in wave_docs if w["complete"]),
    }
    if t.egress_before or t.egress_after:
        headline["egress_before"] = t.egress_before
        headline["egress_after_planned"] = t.egress_after
    else:
        notes.append("the plan records no internet egress points: egress figures omitted")
    total_downtime = [r["downtime_seconds"] for r in migrate_rows if r["downtime_seconds"]]
    headline["downtime_seconds_max"] = max(total_downtime, default=0.0)

    seg_docs = []
    levels: dict[tuple[str, str], dict[str, Any]] = {}
    for seg in sorted(plan.segments, key=lambda g: (g.network, g.level, g.name)):
        members = sorted(
            (r for r in migrate_rows if r["segment"] == seg.name), key=lambda r: r["id"]
        )
        done = sum(1 for r in members if r["state"] == "completed")
        seg_docs.append(
            {
                "name": seg.name,
                "network": seg.network,
                "level": seg.level,
                "city": seg.city,
                "cidr": seg.cidr,
                "systems": [r["id"] for r in members],
                "planned": len(members),
                "done": done,
            }
        )
        lv = levels.setdefault(
            (seg.network, seg.level),
            {"network": seg.network, "level": seg.level, "segments": 0, "planned": 0, "done": 0},
        )
        lv["segments"] += 1
        lv["planned"] += len(members)
        lv["done"] += done

    failures = [
        {
            "id": r["id"],
            "wave": r["wave"],
            "ledger_state": r["ledger_state"],
            "rollback_pending": r["rollback_pending"],
            "last_error": r["last_error"] or "failed",
            "updated_at": r["updated_at"],
            "command": r["command"],
        }
        for r in sorted(migrate_rows, key=lambda r: r["id"])
        if r["state"] == "failed"
    ]
    return {
        "schema": SCHEMA,
        "today": today_s,
        "census_digest": plan.census_digest,
        "ledger": {"where": ledger.where, "status": ledger.status, "source": ledger.source},
        "headline": headline,
        "rooms": {"planned": rooms_planned, "vacated": sorted(set(rooms_done))},
        "networks": {"planned": networks_planned, "vacated": sorted(set(networks_done))},
        "waves": wave_docs,
        "by_city": [by_city[k] for k in sorted(by_city)],
        "by_department": [by_dept[k] for k in sorted(by_dept)],
        "burnup": _burnup(migrate_rows, dispositions["migrate"]),
        "network_levels": [levels[k] for k in sorted(levels)],
        "segments": seg_docs,
        "failures": failures,
        "notes": notes,
    }
