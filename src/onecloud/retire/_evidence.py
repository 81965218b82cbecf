"""Evidence of use and the hold decision. Pure: the probe's JSON in, a verdict out.

The plan retires a system on the census's evidence (a zombie nobody used for 400 days, a shadow
system nobody registered). Before anything is shut down, a fresh probe of each host says what
is true today; the system is **held** when it contradicts the plan:

- an access log has an entry after the census's last access (more than `grace_days` later),
  or, when the census gives no last access, within the last `quiet_days`;
- a client holds an established connection to one of its ports (any listening port but ssh);
- the host listens on a port the census does not declare (retire would neither archive nor
  stop what runs there: declare it first);
- its processes use more CPU than `cpu_percent` (and than `cpu_factor` times the census's).

Everything else is shown as notes (no access log found, data changed after the last access).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from onecloud.retire._spec import RetireSpec

__all__ = ["HostEvidence", "Rules", "Verdict", "evidence_document", "judge", "parse_probe"]

SSH_PORT = 22


@dataclass(frozen=True)
class Rules:
    grace_days: int = 1
    quiet_days: int = 30
    cpu_percent: float = 25.0
    cpu_factor: float = 3.0


@dataclass(frozen=True)
class HostEvidence:
    """What the probe found on one host."""

    host: str
    probed_at: dt.datetime
    logs: tuple[Mapping[str, Any], ...]
    listening: tuple[tuple[str, int, str], ...]  # address, port, process
    established: tuple[tuple[int, str, str], ...]  # local port, peer, process
    cpu_percent: float
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def last_access(self) -> tuple[dt.datetime, str] | None:
        """The newest access-log entry and the log it is in."""
        best: tuple[dt.datetime, str] | None = None
        for log in self.logs:
            stamp = _time(log.get("last_access"))
            if stamp is not None and (best is None or stamp > best[0]):
                best = (stamp, str(log.get("path")))
        return best

    @property
    def logs_found(self) -> list[str]:
        return [str(log["path"]) for log in self.logs if log.get("exists")]


@dataclass(frozen=True)
class Verdict:
    system: str
    decision: Literal["retire", "hold"]
    reasons: tuple[str, ...]  # why it is held (empty for retire)
    notes: tuple[str, ...]
    summary: str  # one line of what was seen

    @property
    def held(self) -> bool:
        return self.decision == "hold"


def _time(value: object) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def parse_probe(host: str, raw: Mapping[str, Any]) -> HostEvidence:
    """The usage_probe.py document of one host (tolerant of missing keys)."""
    probed = _time(raw.get("probed_at")) or dt.datetime.now(dt.UTC)
    return HostEvidence(
        host=host,
        probed_at=probed,
        logs=tuple(dict(x) for x in raw.get("logs") or ()),
        listening=tuple(
            (str(x.get("address", "")), int(x.get("port", 0)), str(x.get("process", "")))
            for x in raw.get("listening") or ()
        ),
        established=tuple(
            (int(x.get("local_port", 0)), str(x.get("peer", "")), str(x.get("process", "")))
            for x in raw.get("established") or ()
        ),
        cpu_percent=float(raw.get("cpu_percent") or 0.0),
        data=dict(raw.get("data") or {}),
    )


def _loopback(address: str) -> bool:
    return address.startswith("127.") or address in (
        "::1",
        "0000:0000:0000:0000:0000:0000:0000:0001",
    )


def judge(spec: RetireSpec, hosts: Mapping[str, HostEvidence], rules: Rules = Rules()) -> Verdict:
    """Does the fresh evidence agree with retiring `spec`? A verdict with its reasons."""
    reasons: list[str] = []
    notes: list[str] = []
    claim = spec.usage
    declared = set(spec.ports) | {SSH_PORT}
    seen_last: tuple[dt.datetime, str, str] | None = None
    for name in sorted(hosts):
        ev = hosts[name]
        last = ev.last_access
        if last is not None and (seen_last is None or last[0] > seen_last[0]):
            seen_last = (last[0], last[1], name)
        if not ev.logs_found:
            notes.append(f"{name}: no access log found (looked for {len(ev.logs)})")
        if last is not None:
            if claim.last_access is not None:
                limit = dt.datetime.combine(
                    claim.last_access + dt.timedelta(days=rules.grace_days), dt.time(), dt.UTC
                )
                if last[0] >= limit:
                    reasons.append(
                        f"{name}: accessed on {last[0]:%Y-%m-%d %H:%M} UTC ({last[1]}), after the"
                        f" census's last access {claim.last_access}"
                    )
            elif last[0] >= ev.probed_at - dt.timedelta(days=rules.quiet_days):
                reasons.append(
                    f"{name}: accessed on {last[0]:%Y-%m-%d %H:%M} UTC ({last[1]}), within the"
                    f" last {rules.quiet_days} days (the census gives no last access)"
                )
        clients = [(port, peer) for port, peer, _proc in ev.established]
        if clients:
            ports = sorted({p for p, _ in clients})
            peers = sorted({peer for _, peer in clients})
            reasons.append(
                f"{name}: {len(clients)} established connection(s) to tcp"
                f" {', '.join(map(str, ports))} from {', '.join(peers[:5])}"
                + (" ..." if len(peers) > 5 else "")
            )
        undeclared = sorted(
            {
                (port, proc or "?")
                for addr, port, proc in ev.listening
                if port not in declared and not _loopback(addr)
            }
        )
        if undeclared:
            reasons.append(
                f"{name}: listens on "
                + ", ".join(f"tcp {p} ({proc})" for p, proc in undeclared)
                + ", which the census does not declare for this system; declare the service"
                " (and its data) so retire archives and stops it"
            )
        busy = max(rules.cpu_percent, (claim.cpu_percent or 0.0) * rules.cpu_factor)
        if ev.cpu_percent > busy:
            reasons.append(
                f"{name}: its processes use {ev.cpu_percent:.1f}% CPU (more than {busy:g}%)"
            )
        newest = _time(ev.data.get("newest_mtime"))
        if newest is not None and claim.last_access and newest.date() > claim.last_access:
            notes.append(
                f"{name}: data last changed {newest:%Y-%m-%d} (after the last access;"
                " a batch job, a restore or the lab's seeding)"
            )
        missing = list(ev.data.get("missing") or [])
        if missing:
            reasons.append(
                f"{name}: data path(s) missing: {', '.join(map(str, missing))}; fix the census"
                " or the host (retire archives every data path)"
            )
    if seen_last is not None:
        fresh = f"last access {seen_last[0]:%Y-%m-%d} ({seen_last[2]}:{seen_last[1]})"
    else:
        fresh = "no access log entry"
    conns = sum(len(ev.established) for ev in hosts.values())
    cpu = max((ev.cpu_percent for ev in hosts.values()), default=0.0)
    summary = f"census: {claim.describe()}; now: {fresh}, {conns} connection(s), CPU {cpu:.1f}%"
    return Verdict(spec.id, "hold" if reasons else "retire", tuple(reasons), tuple(notes), summary)


def evidence_document(
    spec: RetireSpec, hosts: Mapping[str, HostEvidence], verdict: Verdict
) -> dict[str, Any]:
    """The evidence as the ledger and the certificate keep it (JSON-able)."""
    claim = spec.usage
    return {
        "system": spec.id,
        "plan_reason": spec.reason,
        "census": {
            "status": spec.status,
            "last_access": claim.last_access.isoformat() if claim.last_access else None,
            "active_users": claim.active_users,
            "cpu_percent": claim.cpu_percent,
            "census_date": claim.census_date.isoformat() if claim.census_date else None,
        },
        "fresh": {
            name: {
                "probed_at": ev.probed_at.isoformat().replace("+00:00", "Z"),
                "last_access": (
                    ev.last_access[0].isoformat().replace("+00:00", "Z") if ev.last_access else None
                ),
                "last_access_log": ev.last_access[1] if ev.last_access else None,
                "logs": [
                    {k: log.get(k) for k in ("path", "entries", "last_access", "size")}
                    for log in ev.logs
                    if log.get("exists")
                ],
                "listening": [list(x) for x in ev.listening],
                "established": [list(x) for x in ev.established],
                "cpu_percent": ev.cpu_percent,
                "data": dict(ev.data),
            }
            for name, ev in sorted(hosts.items())
        },
        "decision": verdict.decision,
        "reasons": list(verdict.reasons),
        "notes": list(verdict.notes),
        "summary": verdict.summary,
    }
