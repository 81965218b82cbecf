"""Disposition: retire, consolidate, migrate or retain, each with the evidence that decided it.

Rules, first match wins:
1. a person's `override` (with its reason);
2. zombie and shadow systems are retired;
3. a system of `unknown` status is retired when the evidence says nobody uses it
   (no access for `ZOMBIE_DAYS` and no active users), else it is treated as in use;
4. common systems (mail, video conferencing, any category with a shared platform) kept by two or
   more departments are consolidated onto the shared platform;
5. everything else migrates ("everything that should go up, goes up").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from onecloud.census import Census, System, Usage

#: an `unknown` system not accessed for this long (and without active users) is a zombie
ZOMBIE_DAYS = 180
#: categories consolidated even when sites.yml declares no shared platform for them
DEFAULT_COMMON_CATEGORIES = ("mail", "video_conference")


@dataclass(frozen=True)
class Decision:
    disposition: str
    reason: str
    consolidate_into: str | None = None


@dataclass(frozen=True)
class PlatformInfo:
    id: str
    name: str
    category: str


def evidence(usage: Usage, today: dt.date) -> str:
    """Usage evidence as a sentence fragment, e.g. 'no access for 400 days (last 2025-09-27)'."""
    parts: list[str] = []
    if usage.last_access is not None:
        days = (today - usage.last_access).days
        ago = f"{days} day{'s' if days != 1 else ''} ago"
        parts.append(f"last access {ago} ({usage.last_access.isoformat()})")
    else:
        parts.append("no recorded access")
    if usage.active_users is not None:
        parts.append(f"{usage.active_users} active users")
    if usage.cpu_percent is not None:
        parts.append(f"CPU {usage.cpu_percent:g}%")
    return ", ".join(parts)


def platforms(census: Census) -> dict[str, PlatformInfo]:
    """Shared platform per consolidatable category (declared ones, then the defaults)."""
    out = {
        p.category: PlatformInfo(p.id, p.name, p.category) for p in census.sites.shared_platforms
    }
    for cat in DEFAULT_COMMON_CATEGORIES:
        if cat not in out:
            pid = "shared-" + cat.replace("_", "-")
            out[cat] = PlatformInfo(pid, f"shared {cat.replace('_', ' ')} platform", cat)
    return out


def _unused(s: System, today: dt.date) -> bool:
    u = s.usage
    stale = u.last_access is None or (today - u.last_access).days >= ZOMBIE_DAYS
    return stale and not u.active_users


def decide(census: Census) -> dict[str, Decision]:
    """The disposition of every system of the census, keyed by system id."""
    today = census.sites.census_date
    common = platforms(census)
    out: dict[str, Decision] = {}
    # departments keeping each common category (among systems that stay alive)
    keepers: dict[str, set[str]] = {}
    alive: list[System] = []
    for s in census.systems:
        if s.override is not None:
            o = s.override
            into = None
            if o.disposition == "consolidate":
                p = common.get(s.category or "")
                into = p.id if p else "shared-" + (s.category or "platform")
            out[s.id] = Decision(o.disposition, f"override: {o.reason}", into)
        elif s.status == "zombie":
            out[s.id] = Decision("retire", f"zombie: {evidence(s.usage, today)}")
        elif s.status == "shadow":
            out[s.id] = Decision("retire", f"shadow (never registered): {evidence(s.usage, today)}")
        elif s.status == "unknown" and _unused(s, today):
            out[s.id] = Decision(
                "retire",
                f"status unknown and unused for {ZOMBIE_DAYS}+ days: {evidence(s.usage, today)}",
            )
        else:
            alive.append(s)
            if s.category in common:
                keepers.setdefault(s.category, set()).add(census.system_department[s.id])
    shown: dict[str, str] = {}  # category -> "a, b, c, d, e and 7 more" (computed once)
    for cat, depts in keepers.items():
        names = sorted(depts)
        more = f" and {len(names) - 5} more" if len(names) > 5 else ""
        shown[cat] = ", ".join(names[:5]) + more
    for s in alive:
        cat = s.category or ""
        n = len(keepers.get(cat, ()))
        if cat in common and n >= 2:
            p = common[cat]
            out[s.id] = Decision(
                "consolidate",
                f"{cat} duplicated in {n} departments ({shown[cat]}); consolidated onto {p.id}",
                p.id,
            )
        else:
            state = "in use" if s.status == "in_use" else "status unknown but used"
            out[s.id] = Decision("migrate", f"{state}: {evidence(s.usage, today)}")
    return out
