"""What to migrate: the plan's systems joined with the stack's outputs. Pure, no I/O.

A system moves from its source hosts to its target servers pairwise (source i -> target i).
The target's address is the one the stack says Neutron gave it when the stack is up, else the
plan's planned fixed address; `SystemSpec.addresses_from` says which.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from onecloud.errors import UsageError
from onecloud.plan import Plan, PlannedSystem

__all__ = ["DB_ENGINE_SERVICES", "Endpoint", "Pair", "SystemSpec", "select_systems"]

#: init scripts that run a database engine: stopped last at freeze, started first at switch
DB_ENGINE_SERVICES = frozenset({"postgresql", "mysql", "mariadb"})


@dataclass(frozen=True)
class Endpoint:
    """An SSH host: its inventory/ssh_config name and its address."""

    name: str
    address: str
    user: str = "root"
    port: int = 22


@dataclass(frozen=True)
class Pair:
    source: Endpoint
    target: Endpoint


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    port: int
    health_path: str | None
    engine: bool  # a database engine (postgresql), not the application


@dataclass(frozen=True)
class DatabaseSpec:
    engine: Literal["postgresql", "sqlite", "mysql"]
    name: str
    tables: tuple[str, ...]


@dataclass(frozen=True)
class SystemSpec:
    id: str
    name: str
    stack: str
    wave: int | None
    pairs: tuple[Pair, ...]
    services: tuple[ServiceSpec, ...]
    data_paths: tuple[str, ...]
    databases: tuple[DatabaseSpec, ...]
    data_gb: float
    addresses_from: Literal["stack", "plan"]
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def app_services(self) -> tuple[ServiceSpec, ...]:
        return tuple(s for s in self.services if not s.engine)

    @property
    def engine_services(self) -> tuple[ServiceSpec, ...]:
        return tuple(s for s in self.services if s.engine)

    @property
    def group(self) -> str:
        """The Ansible group of the system's hosts (a valid group name)."""
        return "system_" + self.id.replace("-", "_").replace(".", "_")

    def sqlite_files(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.databases if d.engine == "sqlite")

    def postgres_databases(self) -> tuple[DatabaseSpec, ...]:
        return tuple(d for d in self.databases if d.engine == "postgresql")


def _targets_from_outputs(system: PlannedSystem, outputs: Mapping[str, Any]) -> list[Endpoint]:
    entry = outputs.get(system.id) or {}
    out = []
    for t in entry.get("targets") or []:
        if not isinstance(t, Mapping) or not t.get("name") or not t.get("address"):
            raise UsageError(
                f"stack output `systems.{system.id}.targets` has an entry without name/address: "
                f"{t!r}",
                hint="run `pulumi up` for the stack again, or check the workload component",
            )
        out.append(Endpoint(name=str(t["name"]), address=str(t["address"])))
    return out


def build_spec(system: PlannedSystem, outputs: Mapping[str, Any] | None) -> SystemSpec:
    """Join one planned system with the stack's outputs (None: the stack is not up)."""
    where = f"plan system {system.id}"
    if system.disposition != "migrate":
        raise UsageError(
            f"{where}: disposition is {system.disposition!r}, only 'migrate' systems move",
            hint="retired and consolidated systems are handled by `onecloud report`/retire",
        )
    if not system.sources:
        raise UsageError(f"{where}: no source hosts", hint="add hosts to the system in the census")
    targets: list[Endpoint]
    origin: Literal["stack", "plan"] = "plan"
    if outputs is not None and system.id in outputs:
        targets = _targets_from_outputs(system, outputs)
        origin = "stack"
    else:
        targets = [Endpoint(name=t.name, address=t.address) for t in system.targets]
    if not targets:
        raise UsageError(
            f"{where}: no target servers",
            hint="re-run `onecloud plan`; migrated systems get targets",
        )
    if len(targets) not in (1, len(system.sources)):
        raise UsageError(
            f"{where}: {len(system.sources)} sources but {len(targets)} targets",
            hint="a system moves source i -> target i, or all sources onto one target",
        )
    pairs = []
    for i, src in enumerate(system.sources):
        tgt = targets[i] if len(targets) > 1 else targets[0]
        pairs.append(
            Pair(
                source=Endpoint(
                    name=src.id, address=src.address, user=src.ssh_user, port=src.ssh_port
                ),
                target=tgt,
            )
        )
    if len({p.target.name for p in pairs}) != len(pairs):
        raise UsageError(
            f"{where}: several sources onto one target is not supported by the runner yet",
            hint="give the system one target per source in the census",
        )
    return SystemSpec(
        id=system.id,
        name=system.name,
        stack=system.stack or "lab",
        wave=system.wave,
        pairs=tuple(pairs),
        services=tuple(
            ServiceSpec(
                name=s.name,
                port=s.port,
                health_path=s.health_path,
                engine=s.name in DB_ENGINE_SERVICES,
            )
            for s in system.services
        ),
        data_paths=tuple(system.data.paths),
        databases=tuple(
            DatabaseSpec(engine=d.engine, name=d.name, tables=tuple(d.tables))
            for d in system.data.databases
        ),
        data_gb=system.data.size_gb,
        addresses_from=origin,
    )


def select_systems(
    plan: Plan,
    *,
    wave: int | None = None,
    system_ids: list[str] | None = None,
    stack: str | None = None,
) -> list[PlannedSystem]:
    """The migrating systems a run covers; a clear error for unknown ids or empty waves."""
    migrating = [s for s in plan.systems if s.disposition == "migrate"]
    if stack is not None:
        migrating = [s for s in migrating if (s.stack or "lab") == stack]
    chosen = migrating
    if system_ids:
        known = {s.id: s for s in migrating}
        unknown = [i for i in system_ids if i not in known]
        if unknown:
            raise UsageError(
                f"unknown or not migrating system(s): {', '.join(unknown)}",
                hint="migrating systems: " + ", ".join(sorted(known))
                if known
                else "the plan migrates no system",
            )
        chosen = [known[i] for i in system_ids]
    if wave is not None:
        chosen = [s for s in chosen if s.wave == wave]
        if not chosen:
            waves = sorted({s.wave for s in migrating if s.wave is not None})
            raise UsageError(
                f"wave {wave} has no migrating systems"
                + (f" matching {', '.join(system_ids)}" if system_ids else ""),
                hint="waves in the plan: " + (", ".join(map(str, waves)) or "none"),
            )
    if wave is None and not system_ids:
        raise UsageError("say what to migrate", hint="use --wave N and/or --system ID")
    seen: dict[str, str] = {}
    for s in chosen:
        for h in s.sources:
            if h.id in seen and seen[h.id] != s.id:
                raise UsageError(
                    f"host {h.id} is a source of both {seen[h.id]} and {s.id}",
                    hint="migrate them in separate runs (--system)",
                )
            seen[h.id] = s.id
    return sorted(chosen, key=lambda s: s.id)
