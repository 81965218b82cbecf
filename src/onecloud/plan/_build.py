"""census -> Plan: the pure heart of `onecloud plan` (no I/O; same census, same plan).

Steps: disposition -> placement (cloud, segment, project, stack) -> sizing (flavors, volumes) ->
addressing -> waves -> DR tiers -> quotas and totals. Every list is sorted so diffs review well.
"""

from __future__ import annotations

import ipaddress
import math
from collections import defaultdict
from dataclasses import dataclass

from onecloud.census import Census, Host, System, gc_paused
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
    if opts.max_systems_per_wave < 1 or opts.max_data_gb_per_wave <= 0:
        raise PlanError(
            "wave bounds must be positive",
            hint="use --max-systems-per-wave >= 1 and --max-data-gb-per-wave > 0",
        )
    problems: list[str] = []
    depts = {d.id: d for d in census.departments}
    hosts = {h.id: h for h in census.hosts}
    nets = {n.id: n for n in census.networks}
    decisions = disposition.decide(census)
    catalogue = flavors.catalogue(census)
    segindex = placement.SegmentIndex(census.sites.segments)
    clouds = {(c.kind, c.level, c.city) for c in census.sites.clouds}
    segments = [
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
    pools = {s.name: addressing.Pool(s.cidr, s.gateway) for s in segments}

    # ---- placement and sizing of every migrating system
    placed: dict[str, placement.Placement] = {}
    sized: dict[str, list[tuple[str, Flavor, int]]] = {}  # system -> [(server, flavor, volume)]
    notes: dict[str, list[str]] = defaultdict(list)
    requests: list[tuple[str, str]] = []
    systems = sorted(census.systems, key=lambda s: s.id)
    for s in systems:
        if decisions[s.id].disposition != "migrate":
            continue
        dept = depts[census.system_department[s.id]]
        classes = {nets[hosts[h].network].classification for h in s.hosts}
        p = placement.place(census, s, dept, classes, segindex)
        where = census.origins.get(s.id, s.id)
        if (p.cloud, p.level, p.city) not in clouds:
            problems.append(
                f"{where}: system `{s.id}` needs a cloud of kind {p.cloud} at {p.level} level"
                + (f" in city {p.city}" if p.city else "")
                + f"; declare it in sites.yml `clouds` (kind: {p.cloud}, level: {p.level}"
                + (f", city: {p.city})" if p.city else ")")
            )
        if p.segment is None:
            problems.append(
                f"{where}: no {p.network} segment for a {dept.level} department"
                + (f" of city {dept.city}" if dept.city else "")
                + f"; declare one in sites.yml `segments` (network: {p.network}, level: "
                + f"{dept.level} or above)"
            )
            continue
        placed[s.id] = p
        servers = []
        for n, hid in enumerate(s.hosts, start=1):
            h = hosts[hid]
            flavor, ok = flavors.fit(catalogue, h.cpus, h.memory_mb)
            if not ok:
                notes[s.id].append(
                    f"host {hid} ({h.cpus} CPUs, {h.memory_mb} MB) exceeds the largest flavor"
                )
            volume = _volume_gb(s) if n == 1 else 0
            name = f"{s.id}-{n}"
            servers.append((name, flavor, volume))
            requests.append((p.segment, name))
        sized[s.id] = servers
    if problems:
        raise PlanError(
            f"the census cannot be placed ({len(problems)} problems):\n" + "\n".join(problems),
            hint="declare the missing clouds and segments in sites.yml, then re-run",
        )

    # ---- addressing (sticky to the previous plan)
    prev: dict[str, tuple[str, str]] = {}
    if previous is not None:
        for ps in previous.systems:
            for t in ps.targets:
                if ps.segment:
                    prev[t.name] = (ps.segment, t.address)
    addresses, full = addressing.allocate(pools, requests, prev)
    if full:
        need: dict[str, int] = defaultdict(int)
        for seg, _ in requests:
            need[seg] += 1
        raise PlanError(
            "target segments are full: "
            + ", ".join(
                f"{s} ({pools[s].cidr}: {pools[s].capacity} usable, {need[s]} needed)" for s in full
            ),
            hint="widen the segment's CIDR in sites.yml or add a segment for that level and city",
        )

    # ---- waves
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
    wave_of = {sid: w.number for w in wave_plans for sid in w.systems}

    # ---- what leaves when: hosts, rooms, networks
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
    last = len(wave_plans)
    rooms_by_wave: dict[int, list[str]] = defaultdict(list)
    nets_by_wave: dict[int, list[str]] = defaultdict(list)
    for rid, leave in room_leave.items():
        if leave != NEVER:
            rooms_by_wave[min(leave, max(last, 1))].append(rid)
    for nid, leave in net_leave.items():
        if leave != NEVER:
            nets_by_wave[min(leave, max(last, 1))].append(nid)

    # ---- planned systems
    planned: list[PlannedSystem] = []
    for s in systems:
        dec = decisions[s.id]
        got = placed.get(s.id)
        dept = depts[census.system_department[s.id]]
        fields = _common_fields(
            s, census, dec, hosts, dept.city if dept.level != "province" else None
        )
        if got is not None:
            p = got
            tier, why = dr.dr_tier(s.rpo_minutes, s.rto_minutes, s.protection_level)
            extra = "; ".join(notes.get(s.id, []))
            fields.update(
                cloud=p.cloud,
                level=p.level,
                city=p.city,
                segment=p.segment,
                project=p.project,
                stack=p.stack,
                wave=wave_of[s.id],
                dr_tier=tier,
                dr_reason=why,
                floating_ip=p.network == "extranet" and any(v.public for v in s.services),
                placement_reason=p.reason + (f"; {extra}" if extra else ""),
                targets=[
                    trusted(
                        TargetServer,
                        name=name,
                        address=addresses[name],
                        flavor=f.name,
                        volume_gb=vol,
                    )
                    for name, f, vol in sized[s.id]
                ],
            )
        planned.append(trusted(PlannedSystem, **fields))

    projects = _projects(planned, census, {f.name: f for f in catalogue})
    plan_waves = [
        trusted(
            Wave,
            number=w.number,
            systems=w.systems,
            data_gb=w.data_gb,
            rooms_vacated=sorted(rooms_by_wave.get(w.number, [])),
            networks_vacated=sorted(nets_by_wave.get(w.number, [])),
            deadline=w.deadline,
            notes=w.notes,
        )
        for w in wave_plans
    ]
    renumbered = [
        trusted(Renumbering, network=n, cidr=c, overlaps_with=o)
        for n, c, o in addressing.overlapping_networks(census.networks)
    ]
    counts: dict[str, int] = defaultdict(int)
    for ps in planned:
        counts[ps.disposition] += 1
    rooms_vacated = sum(1 for v in room_leave.values() if v != NEVER)
    folded = {n for n, v in net_leave.items() if v != NEVER}
    egress_kept = sum(1 for n in census.networks if n.egress and n.id not in folded)
    public_clouds = {(ps.level, ps.city) for ps in planned if ps.cloud == "public"}
    totals = trusted(
        Totals,
        systems=len(planned),
        retired=counts["retire"],
        consolidated=counts["consolidate"],
        migrated=counts["migrate"],
        retained=counts["retain"],
        rooms_before=len(room_leave),
        rooms_vacated=rooms_vacated,
        networks_before=len(census.networks),
        networks_folded=len(folded),
        egress_before=sum(1 for n in census.networks if n.egress),
        egress_after=egress_kept + len(public_clouds),
    )
    return trusted(
        Plan,
        version=1,
        census_digest=census.digest,
        segments=segments,
        projects=projects,
        systems=planned,
        waves=plan_waves,
        renumbered=renumbered,
        totals=totals,
        flavors=catalogue,
        platforms=_platforms(planned, census),
        dr_center=census.sites.dr_center.id if census.sites.dr_center else None,
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
