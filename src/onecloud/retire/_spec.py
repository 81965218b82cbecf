"""What to retire: the plan's `retire` systems joined with the census's usage evidence. Pure.

A retired system has no targets: only its source hosts, its services (stopped and disabled),
its data paths and databases (archived first) and the access logs its evidence comes from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from onecloud.census import Census
from onecloud.contract import DB_ENGINE_SERVICES, Endpoint
from onecloud.errors import UsageError
from onecloud.plan import Plan, PlannedSystem

__all__ = [
    "GENERIC_ACCESS_LOGS",
    "RetireService",
    "RetireSpec",
    "UsageClaim",
    "access_logs",
    "app_paths",
    "build_retire_spec",
    "select_retiring",
    "usage_claims",
    "wave_of",
]

#: web servers' access logs probed on every host besides each service's own
GENERIC_ACCESS_LOGS = (
    "/var/log/nginx/access.log",
    "/var/log/apache2/access.log",
    "/var/log/httpd/access_log",
)

#: the wave a retired system leaves with when the plan gives it none (docs/plan.md)
DEFAULT_WAVE = 1


@dataclass(frozen=True)
class UsageClaim:
    """The census's evidence the plan's decision rests on (None: the census says nothing)."""

    last_access: dt.date | None = None
    active_users: int | None = None
    cpu_percent: float | None = None
    census_date: dt.date | None = None

    def describe(self) -> str:
        parts = [f"last access {self.last_access}" if self.last_access else "no last access"]
        if self.active_users is not None:
            parts.append(f"{self.active_users} active users")
        if self.cpu_percent is not None:
            parts.append(f"CPU {self.cpu_percent:g}%")
        return ", ".join(parts)


@dataclass(frozen=True)
class RetireService:
    name: str
    port: int
    health_path: str | None
    engine: bool


@dataclass(frozen=True)
class DatabaseRef:
    engine: str
    name: str
    tables: tuple[str, ...]


@dataclass(frozen=True)
class RetireSpec:
    id: str
    name: str
    department: str
    status: str  # zombie, shadow, unknown, in_use (an override)
    reason: str  # the plan's reason for retiring it
    owner: str | None
    wave: int
    hosts: tuple[Endpoint, ...]
    services: tuple[RetireService, ...]
    data_paths: tuple[str, ...]
    databases: tuple[DatabaseRef, ...]
    usage: UsageClaim

    @property
    def ports(self) -> tuple[int, ...]:
        return tuple(s.port for s in self.services)

    def postgres_databases(self) -> tuple[DatabaseRef, ...]:
        return tuple(d for d in self.databases if d.engine == "postgresql")


def wave_of(system: PlannedSystem) -> int:
    """A retired system's wave: the plan's, else the first (they leave with wave 1)."""
    return system.wave if system.wave is not None else DEFAULT_WAVE


def access_logs(services: Sequence[RetireService]) -> tuple[str, ...]:
    """The access logs probed for a system: each service's own, then the web servers'."""
    own = [p for s in services for p in (f"/var/log/{s.name}/access.log",)]
    return tuple(dict.fromkeys([*own, *GENERIC_ACCESS_LOGS]))


def app_paths(services: Sequence[RetireService]) -> tuple[str, ...]:
    """The application files archived with the data (those the host has): the init script,
    its settings and `/opt/<service>`, as the lab and most SysV packages lay them out."""
    out: list[str] = []
    for s in services:
        if s.engine:
            continue
        out += [f"/etc/init.d/{s.name}", f"/etc/default/{s.name}", f"/opt/{s.name}"]
    return tuple(out)


def build_retire_spec(system: PlannedSystem, usage: UsageClaim | None = None) -> RetireSpec:
    where = f"plan system {system.id}"
    if system.disposition != "retire":
        raise UsageError(
            f"{where}: disposition is {system.disposition!r}; `onecloud retire` retires only"
            " systems the plan retires",
            hint="a migrated system's source is retired with `onecloud migrate retire`",
        )
    if not system.sources:
        raise UsageError(
            f"{where}: no hosts to retire", hint="list the system's hosts in the census"
        )
    return RetireSpec(
        id=system.id,
        name=system.name,
        department=system.department,
        status=system.status,
        reason=system.reason,
        owner=system.owner,
        wave=wave_of(system),
        hosts=tuple(
            Endpoint(name=h.id, address=h.address, user=h.ssh_user, port=h.ssh_port)
            for h in system.sources
        ),
        services=tuple(
            RetireService(s.name, s.port, s.health_path, s.name in DB_ENGINE_SERVICES)
            for s in system.services
        ),
        data_paths=tuple(system.data.paths),
        databases=tuple(
            DatabaseRef(d.engine, d.name, tuple(d.tables)) for d in system.data.databases
        ),
        usage=usage or UsageClaim(),
    )


def select_retiring(
    plan: Plan, *, wave: int | None = None, system_ids: Sequence[str] | None = None
) -> list[PlannedSystem]:
    """The systems the plan retires that a run covers; clear errors for the rest."""
    retiring = [s for s in plan.systems if s.disposition == "retire"]
    if wave is None and not system_ids:
        raise UsageError("say what to retire", hint="use --wave N and/or --system ID")
    chosen = retiring
    if system_ids:
        known = {s.id: s for s in retiring}
        others = {s.id: s.disposition for s in plan.systems}
        unknown = [i for i in system_ids if i not in known]
        if unknown:
            why = [
                f"{i} (the plan says {others[i]})" if i in others else f"{i} (not in the plan)"
                for i in unknown
            ]
            raise UsageError(
                "not a system the plan retires: " + ", ".join(why),
                hint="systems the plan retires: " + (", ".join(sorted(known)) or "none"),
            )
        chosen = [known[i] for i in dict.fromkeys(system_ids)]
    if wave is not None:
        chosen = [s for s in chosen if wave_of(s) == wave]
        if not chosen:
            waves = sorted({wave_of(s) for s in retiring})
            raise UsageError(
                f"wave {wave} retires no system"
                + (f" matching {', '.join(system_ids)}" if system_ids else ""),
                hint="waves with systems to retire: " + (", ".join(map(str, waves)) or "none"),
            )
    seen: dict[str, str] = {}
    for s in chosen:
        for h in s.sources:
            if seen.setdefault(h.id, s.id) != s.id:
                raise UsageError(
                    f"host {h.id} belongs to both {seen[h.id]} and {s.id}",
                    hint="a retirement shuts a host's services down: retire them one at a time"
                    " (--system)",
                )
    return sorted(chosen, key=lambda s: s.id)


def usage_claims(census: Census | None) -> Mapping[str, UsageClaim]:
    """system id -> the census's usage evidence (empty without a census)."""
    if census is None:
        return {}
    day = census.sites.census_date
    return {
        s.id: UsageClaim(
            last_access=s.usage.last_access,
            active_users=s.usage.active_users,
            cpu_percent=s.usage.cpu_percent,
            census_date=day,
        )
        for s in census.systems
    }
