"""census -> Plan: the pure heart of `onecloud plan` (no I/O; same census, same plan).

Steps: disposition -> refusals -> placement (cloud, segment, project, stack) -> sizing (flavors,
volumes) -> addressing -> waves -> DR tiers -> quotas and totals. Every list is sorted so diffs
review well.

Refused (PlanError listing every case as `file:line: what; fix`): a system that stays (migrates,
is consolidated or retained) depending on one the plan retires, for whatever reason; a migrating
system with a database of an engine the playbooks cannot move (`MIGRATED_ENGINES`).
"""

from __future__ import annotations

import ipaddress
import math
from collections import defaultdict
from dataclasses import dataclass

from onecloud.census import Census, Department, Host, System, gc_paused
from onecloud.errors import PlanError
from onecloud.plan import _addressing as addressing
from onecloud.plan import _disposition as disposition
from onecloud.plan import _dr as dr
from onecloud.plan import _flavors as flavors
from onecloud.plan import _placement as placement
from onecloud.plan import _waves as waves
from onecloud.plan._construct import trusted
from onecloud.plan._models import (
    Database,
    DataSpec,
    Flavor,
    Plan,
    PlannedSystem,
    ProjectPlan,
    Quota,
    Renumbering,
    Segment,
    Service,
    SharedPlatform,
    SourceHost,
    TargetServer,
    Totals,
    Wave,
)

#: quota headroom over what the planned servers need
QUOTA_HEADROOM = 1.2
#: data volume headroom over the census data size
VOLUME_HEADROOM = 1.25
#: bounds used when the caller gives none
DEFAULT_MAX_SYSTEMS_PER_WAVE = 40
DEFAULT_MAX_DATA_GB_PER_WAVE = 2000.0

NEVER = 1 << 30  # the departure wave of what stays (retained systems, their rooms)
#: database engines the migration playbooks move (dump and restore, or files in the data trees)
MIGRATED_ENGINES = ("postgresql", "sqlite")


@dataclass(frozen=True)
class Options:
    max_systems_per_wave: int = DEFAULT_MAX_SYSTEMS_PER_WAVE
    max_data_gb_per_wave: float = DEFAULT_MAX_DATA_GB_PER_WAVE


def build_plan(
    census: Census, options: Options | None = None, previous: Plan | None = None
) -> Plan:
    """Derive the plan. `previous`: the plan it replaces (its addresses are kept where valid)."""
    with gc_paused():
        return _build(census, options or Options(), previous)


def _build(census: Census, opts: Options, previous: Plan | None) -> Plan:
    _check_options(opts)
    depts = {d.id: d for d in census.departments}
    hosts = {h.id: h for h in census.hosts}
    systems = sorted(census.systems, key=lambda s: s.id)
    decisions = disposition.decide(census)
    _refuse(census, systems, decisions)
    catalogue = flavors.catalogue(census)
    segments = _segments(census)
    moving = _place_and_size(census, systems, decisions, depts, hosts, catalogue)
    addresses = _addresses(segments, moving.requests, previous, census.hosts)
    wave_plans, wave_of = _waves(systems, moving.placed, opts)
    leaving = _departures(census, systems, decisions, wave_of, len(wave_plans))
    planned = _planned_systems(census, systems, decisions, depts, hosts, moving, addresses, wave_of)
    return trusted(
        Plan,
        version=1,
        census_digest=census.digest,
        segments=segments,
        projects=_projects(planned, census, {f.name: f for f in catalogue}),
        systems=planned,
        waves=_plan_waves(wave_plans, leaving),
        renumbered=_renumbered(census),
        totals=_totals(census, planned, leaving),
        flavors=catalogue,
        platforms=_platforms(planned, census),
        dr_center=census.sites.dr_center.id if census.sites.dr_center else None,
    )


def _check_options(opts: Options) -> None:
    if opts.max_systems_per_wave < 1 or opts.max_data_gb_per_wave <= 0:
        raise PlanError(
            "wave bounds must be positive",
            hint="use --max-systems-per-wave >= 1 and --max-data-gb-per-wave > 0",
        )


def _segments(census: Census) -> list[Segment]:
    """The census's target segments by name, CIDRs normalised and gateways filled in."""
    return [
        trusted(
            Segment,
            name=s.name,
            network=s.network,
            level=s.level,
            city=s.city,
            cidr=str(ipaddress.ip_network(s.cidr)),
            gateway=addressing.gateway_of(s.cidr, s.gateway),
        )
        for s in sorted(census.sites.segments, key=lambda s: s.name)
    ]


def _refuse(
    census: Census, systems: list[System], decisions: dict[str, disposition.Decision]
) -> None:
    """PlanError listing what the plan cannot carry out as the census asks."""
    problems: list[str] = []
    for s in systems:
        dec = decisions[s.id]
        if dec.disposition == "retire":
            continue
        where = census.origins.get(s.id, s.id)
        for dep in s.depends_on:
            target = decisions.get(dep)
            if target is not None and target.disposition == "retire":
                problems.append(
                    f"{where}: system `{s.id}` ({dec.disposition}) depends on `{dep}`, which the "
                    f"plan retires ({target.reason}); remove the dependency, or keep `{dep}` "
                    "with `override: {disposition: migrate, reason: ...}`"
                )
        if dec.disposition != "migrate":
            continue
        for db in s.data.databases:
            if db.engine not in MIGRATED_ENGINES:
                problems.append(
                    f"{where}: system `{s.id}` keeps the {db.engine} database `{db.name}`, and "
                    f"the {db.engine} engine is not supported yet (the playbooks migrate "
                    f"{' and '.join(MIGRATED_ENGINES)} only); move the database to a supported "
                    f"engine, or keep `{s.id}` with `override: {{disposition: retain, "
                    "reason: ...}` until it is supported"
                )
    if problems:
        n = len(problems)
        raise PlanError(
            f"the census cannot be planned ({n} problem{'s' if n != 1 else ''}):\n"
            + "\n".join(problems),
            hint="correct the census where each line says, then re-run",
        )


@dataclass(frozen=True)
class _Moving:
    """The migrating systems: where each goes and the servers it gets."""

    placed: dict[str, placement.Placement]
    sized: dict[str, list[tuple[str, Flavor, int]]]  # system -> [(server, flavor, volume)]
    notes: dict[str, list[str]]  # system -> sizing notes (only systems that have some)
    requests: list[tuple[str, str]]  # (segment, server) for every server, in system order


def _place_and_size(
    census: Census,
    systems: list[System],
    decisions: dict[str, disposition.Decision],
    depts: dict[str, Department],
    hosts: dict[str, Host],
    catalogue: list[Flavor],
) -> _Moving:
    """Place every migrating system and size its servers; PlanError lists what cannot be placed."""
    nets = {n.id: n for n in census.networks}
    segindex = placement.SegmentIndex(census.sites.segments)
    clouds = {(c.kind, c.level, c.city) for c in census.sites.clouds}
    problems: list[str] = []
    placed: dict[str, placement.Placement] = {}
    sized: dict[str, list[tuple[str, Flavor, int]]] = {}
    notes: dict[str, list[str]] = {}
    requests: list[tuple[str, str]] = []
    for s in systems:
        if decisions[s.id].disposition != "migrate":
            continue
        dept = depts[census.system_department[s.id]]
        classes = {nets[hosts[h].network].classification for h in s.hosts}
        p = placement.place(census, s, dept, classes, segindex)
        where = census.origins.get(s.id, s.id)
        if (p.cloud, p.level, p.city) not in clouds:
            problems.append(_no_cloud(where, s, p))
        if p.segment is None:
            problems.append(_no_segment(where, p, dept))
            continue
        placed[s.id] = p
        servers, why = _size(s, hosts, catalogue)
        sized[s.id] = servers
        if why:
            notes[s.id] = why
        requests.extend((p.segment, name) for name, _, _ in servers)
    if problems:
        raise PlanError(
            f"the census cannot be placed ({len(problems)} problems):\n" + "\n".join(problems),
            hint="declare the missing clouds and segments in sites.yml, then re-run",
        )
    return _Moving(placed, sized, notes, requests)


def _no_cloud(where: str, s: System, p: placement.Placement) -> str:
    return (
        f"{where}: system `{s.id}` needs a cloud of kind {p.cloud} at {p.level} level"
        + (f" in city {p.city}" if p.city else "")
        + f"; declare it in sites.yml `clouds` (kind: {p.cloud}, level: {p.level}"
        + (f", city: {p.city})" if p.city else ")")
    )


def _no_segment(where: str, p: placement.Placement, dept: Department) -> str:
    return (
        f"{where}: no {p.network} segment for a {dept.level} department"
        + (f" of city {dept.city}" if dept.city else "")
        + f"; declare one in sites.yml `segments` (network: {p.network}, level: "
        + f"{dept.level} or above)"
    )


def _size(
    s: System, hosts: dict[str, Host], catalogue: list[Flavor]
) -> tuple[list[tuple[str, Flavor, int]], list[str]]:
    """A server per host of `s` ([(name, flavor, volume GB)], the first one holding the data
    volume) and notes on hosts no flavor fits."""
    servers = []
    notes = []
    for n, hid in enumerate(s.hosts, start=1):
        h = hosts[hid]
        flavor, ok = flavors.fit(catalogue, h.cpus, h.memory_mb)
        if not ok:
            notes.append(f"host {hid} ({h.cpus} CPUs, {h.memory_mb} MB) exceeds the largest flavor")
        volume = _volume_gb(s) if n == 1 else 0
        servers.append((f"{s.id}-{n}", flavor, volume))
    return servers, notes


def _addresses(
    segments: list[Segment],
    requests: list[tuple[str, str]],
    previous: Plan | None,
    legacy: list[Host],
) -> dict[str, str]:
    """server -> address, sticky to the previous plan; PlanError names the segments too small.

    Addresses of legacy hosts inside a segment are never handed out: every legacy host still
    runs when the stack declares the targets (it leaves at its wave's cutover or retirement).
    """
    pools = {s.name: addressing.Pool(s.cidr, s.gateway) for s in segments}
    addressing.reserve(pools, [h.address for h in legacy])
    addresses, full = addressing.allocate(pools, requests, _previous_addresses(previous))
    if full:
        need: dict[str, int] = defaultdict(int)
        for seg, _ in requests:
            need[seg] += 1

        def kept(pool: addressing.Pool) -> str:
            n = pool.reserved
            return f", {n} kept for legacy hosts" if n else ""

        raise PlanError(
            "target segments are full: "
            + ", ".join(
                f"{s} ({pools[s].cidr}: {pools[s].capacity} usable{kept(pools[s])}, "
                f"{need[s]} needed)"
                for s in full
            ),
            hint="widen the segment's CIDR in sites.yml or add a segment for that level and city",
        )
    return addresses


def _previous_addresses(previous: Plan | None) -> dict[str, tuple[str, str]]:
    """server -> (segment, address) in the previous plan."""
    prev: dict[str, tuple[str, str]] = {}
    if previous is not None:
        for ps in previous.systems:
            for t in ps.targets:
                if ps.segment:
                    prev[t.name] = (ps.segment, t.address)
    return prev


def _waves(
    systems: list[System], placed: dict[str, placement.Placement], opts: Options
) -> tuple[list[waves.WavePlan], dict[str, int]]:
    """The waves of the placed systems, and system -> wave number."""
    movers = [
        waves.Item(
            s.id,
            tuple(d for d in s.depends_on if d in placed),
            s.data.size_gb,
            s.deadline.isoformat() if s.deadline else None,
        )
        for s in systems
        if s.id in placed
    ]
    wave_plans = waves.assign(movers, opts.max_systems_per_wave, opts.max_data_gb_per_wave)
    return wave_plans, {sid: w.number for w in wave_plans for sid in w.systems}


@dataclass(frozen=True)
class _Departures:
    """What leaves when: the wave after which each room and network is empty (NEVER: it stays)."""

    room_leave: dict[str, int]
    net_leave: dict[str, int]
    rooms_by_wave: dict[int, list[str]]  # wave -> rooms it vacates (at most the last wave)
    nets_by_wave: dict[int, list[str]]  # wave -> networks it vacates (at most the last wave)


def _departures(
    census: Census,
    systems: list[System],
    decisions: dict[str, disposition.Decision],
    wave_of: dict[str, int],
    last: int,
) -> _Departures:
    """When hosts, rooms and networks leave; `last`: the number of waves."""
    departure: dict[str, int] = {}
    for s in systems:
        d = decisions[s.id].disposition
        leave = wave_of.get(s.id, 1) if d == "migrate" else (NEVER if d == "retain" else 1)
        for hid in s.hosts:
            departure[hid] = max(departure.get(hid, 0), leave)
    room_leave: dict[str, int] = {r.id: 1 for r in census.sites.rooms}
    net_leave: dict[str, int] = {n.id: 1 for n in census.networks}
    for h in census.hosts:
        leave = departure.get(h.id, NEVER)
        room_leave[h.room] = max(room_leave.get(h.room, 1), leave)
        net_leave[h.network] = max(net_leave.get(h.network, 1), leave)
    rooms_by_wave: dict[int, list[str]] = defaultdict(list)
    nets_by_wave: dict[int, list[str]] = defaultdict(list)
    for rid, leave in room_leave.items():
        if leave != NEVER:
            rooms_by_wave[min(leave, max(last, 1))].append(rid)
    for nid, leave in net_leave.items():
        if leave != NEVER:
            nets_by_wave[min(leave, max(last, 1))].append(nid)
    return _Departures(room_leave, net_leave, rooms_by_wave, nets_by_wave)


def _planned_systems(
    census: Census,
    systems: list[System],
    decisions: dict[str, disposition.Decision],
    depts: dict[str, Department],
    hosts: dict[str, Host],
    moving: _Moving,
    addresses: dict[str, str],
    wave_of: dict[str, int],
) -> list[PlannedSystem]:
    """Every system of the census as planned, by id."""
    planned: list[PlannedSystem] = []
    for s in systems:
        dept = depts[census.system_department[s.id]]
        fields = _common_fields(
            s, census, decisions[s.id], hosts, dept.city if dept.level != "province" else None
        )
        p = moving.placed.get(s.id)
        if p is not None:
            fields.update(_placed_fields(s, p, moving, addresses, wave_of[s.id]))
        planned.append(trusted(PlannedSystem, **fields))
    return planned


def _placed_fields(
    s: System, p: placement.Placement, moving: _Moving, addresses: dict[str, str], wave: int
) -> dict[str, object]:
    """The fields of a migrating system's plan that its placement, sizing and wave decide."""
    tier, why = dr.dr_tier(s.rpo_minutes, s.rto_minutes, s.protection_level)
    extra = "; ".join(moving.notes.get(s.id, []))
    return {
        "cloud": p.cloud,
        "level": p.level,
        "city": p.city,
        "segment": p.segment,
        "project": p.project,
        "stack": p.stack,
        "wave": wave,
        "dr_tier": tier,
        "dr_reason": why,
        "floating_ip": p.network == "extranet" and any(v.public for v in s.services),
        "placement_reason": p.reason + (f"; {extra}" if extra else ""),
        "targets": [
            trusted(
                TargetServer,
                name=name,
                address=addresses[name],
                flavor=f.name,
                volume_gb=vol,
            )
            for name, f, vol in moving.sized[s.id]
        ],
    }


def _plan_waves(wave_plans: list[waves.WavePlan], leaving: _Departures) -> list[Wave]:
    return [
        trusted(
            Wave,
            number=w.number,
            systems=w.systems,
            data_gb=w.data_gb,
            rooms_vacated=sorted(leaving.rooms_by_wave.get(w.number, [])),
            networks_vacated=sorted(leaving.nets_by_wave.get(w.number, [])),
            deadline=w.deadline,
            notes=w.notes,
        )
        for w in wave_plans
    ]


def _renumbered(census: Census) -> list[Renumbering]:
    return [
        trusted(Renumbering, network=n, cidr=c, overlaps_with=o)
        for n, c, o in addressing.overlapping_networks(census.networks)
    ]


def _totals(census: Census, planned: list[PlannedSystem], leaving: _Departures) -> Totals:
    counts: dict[str, int] = defaultdict(int)
    for ps in planned:
        counts[ps.disposition] += 1
    rooms_vacated = sum(1 for v in leaving.room_leave.values() if v != NEVER)
    folded = {n for n, v in leaving.net_leave.items() if v != NEVER}
    egress_kept = sum(1 for n in census.networks if n.egress and n.id not in folded)
    public_clouds = {(ps.level, ps.city) for ps in planned if ps.cloud == "public"}
    return trusted(
        Totals,
        systems=len(planned),
        retired=counts["retire"],
        consolidated=counts["consolidate"],
        migrated=counts["migrate"],
        retained=counts["retain"],
        rooms_before=len(leaving.room_leave),
        rooms_vacated=rooms_vacated,
        networks_before=len(census.networks),
        networks_folded=len(folded),
        egress_before=sum(1 for n in census.networks if n.egress),
        egress_after=egress_kept + len(public_clouds),
    )


def _volume_gb(s: System) -> int:
    if s.data.size_gb <= 0:
        return 0
    return max(1, math.ceil(s.data.size_gb * VOLUME_HEADROOM))


def _common_fields(
    s: System,
    census: Census,
    dec: disposition.Decision,
    hosts: dict[str, Host],
    home_city: str | None,
) -> dict[str, object]:
    return {
        "id": s.id,
        "name": s.name,
        "department": census.system_department[s.id],
        "disposition": dec.disposition,
        "reason": dec.reason,
        "status": s.status,
        "audience": s.audience,
        "protection_level": s.protection_level,
        "cloud": None,
        "level": None,
        "city": None,
        "segment": None,
        "project": None,
        "stack": None,
        "wave": None,
        "dr_tier": "none",
        "consolidate_into": dec.consolidate_into,
        "floating_ip": False,
        "sources": [
            trusted(
                SourceHost,
                id=h.id,
                address=h.address,
                ssh_user=h.ssh_user,
                ssh_port=h.ssh_port,
                room=h.room,
                cpus=h.cpus,
                memory_mb=h.memory_mb,
                disk_gb=h.disk_gb,
            )
            for h in (hosts[x] for x in s.hosts)
        ],
        "targets": [],
        "services": [
            trusted(
                Service,
                name=v.name,
                port=v.port,
                protocol=v.protocol,
                health_path=v.health_path,
                public=v.public,
            )
            for v in s.services
        ],
        "data": trusted(
            DataSpec,
            paths=list(s.data.paths),
            size_gb=float(s.data.size_gb),
            databases=[
                trusted(Database, engine=d.engine, name=d.name, tables=list(d.tables))
                for d in s.data.databases
            ],
        ),
        "depends_on": sorted(s.depends_on),
        "rpo_minutes": s.rpo_minutes,
        "rto_minutes": s.rto_minutes,
        "owner": s.owner,
        "deadline": s.deadline.isoformat() if s.deadline else None,
        "category": s.category,
        "workload": s.workload,
        "placement_reason": None,
        "dr_reason": None,
        "home_city": home_city,
    }


def _headroom(x: float, step: int = 1) -> int:
    """x plus headroom, rounded up to a multiple of `step` (RAM: whole 512 MB)."""
    return math.ceil(x * QUOTA_HEADROOM / step) * step if x > 0 else 0


def _projects(
    planned: list[PlannedSystem], census: Census, by_name: dict[str, Flavor]
) -> list[ProjectPlan]:
    acc: dict[str, list[int]] = {}
    meta: dict[str, PlannedSystem] = {}
    for ps in planned:
        if ps.project is None:
            continue
        a = acc.setdefault(ps.project, [0, 0, 0, 0, 0, 0])
        meta.setdefault(ps.project, ps)
        for t in ps.targets:
            f = by_name[t.flavor]
            a[0] += 1
            a[1] += f.vcpus
            a[2] += f.ram_mb
            if t.volume_gb:
                a[3] += 1
                a[4] += t.volume_gb
        if ps.floating_ip:
            a[5] += len(ps.targets)
    names = {d.id: d.name for d in census.departments}
    out = []
    for name in sorted(acc):
        a = acc[name]
        ps = meta[name]
        out.append(
            trusted(
                ProjectPlan,
                name=name,
                department=ps.department,
                department_name=names[ps.department],
                cloud=ps.cloud,
                level=ps.level,
                city=ps.city,
                quota=trusted(
                    Quota,
                    instances=_headroom(a[0]),
                    cores=_headroom(a[1]),
                    ram_mb=_headroom(a[2], 512),
                    volumes=_headroom(a[3]),
                    gigabytes=_headroom(a[4]),
                    floating_ips=_headroom(a[5]),
                ),
            )
        )
    return out


def _platforms(planned: list[PlannedSystem], census: Census) -> list[SharedPlatform]:
    info = {p.id: p for p in disposition.platforms(census).values()}
    members: dict[str, list[PlannedSystem]] = defaultdict(list)
    for ps in planned:
        if ps.consolidate_into:
            members[ps.consolidate_into].append(ps)
    out = []
    for pid in sorted(members):
        p = info.get(pid)
        ms = members[pid]
        out.append(
            trusted(
                SharedPlatform,
                id=pid,
                name=p.name if p else f"shared {(ms[0].category or '').replace('_', ' ')} platform",
                category=p.category if p else (ms[0].category or ""),
                systems=sorted(m.id for m in ms),
                data_gb=round(sum(m.data.size_gb for m in ms), 3),
            )
        )
    return out
