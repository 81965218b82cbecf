"""Cross-file checks of a census whose files are each valid on their own.

Duplicate ids, unknown references (with did-you-mean), overlapping CIDRs inside one network,
addresses outside their network or used twice on one network, IPv6 (the stacks are IPv4-only),
dependencies on systems that will be retired, SQLite files outside the data trees. Pure: takes
the validated models and their sources, adds problems.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from onecloud.census._models import (
    Census,
    City,
    Cloud,
    Department,
    DepartmentFile,
    Host,
    NetworksFile,
    PrivateNetwork,
    Room,
    SegmentSpec,
    SharedPlatform,
    SitesFile,
    System,
)
from onecloud.census._problems import Problems, did_you_mean
from onecloud.census._yamlsource import PathKey, Source

T = TypeVar("T")
CityRef = Callable[["Entry[Any]", "PathKey", "str | None", bool], None]
IpNet = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class Entry(Generic[T]):
    obj: T
    src: Source
    path: PathKey
    department: str | None = None  # the department file it came from

    def at(self, *sub: object) -> PathKey:
        return (*self.path, *sub)


@dataclass
class Declared:
    """Every object of the census with the file and path that declared it."""

    sites: SitesFile
    sites_src: Source
    cities: list[Entry[City]] = field(default_factory=list)
    rooms: list[Entry[Room]] = field(default_factory=list)
    clouds: list[Entry[Cloud]] = field(default_factory=list)
    segments: list[Entry[SegmentSpec]] = field(default_factory=list)
    platforms: list[Entry[SharedPlatform]] = field(default_factory=list)
    networks: list[Entry[PrivateNetwork]] = field(default_factory=list)
    departments: list[Entry[Department]] = field(default_factory=list)
    hosts: list[Entry[Host]] = field(default_factory=list)
    systems: list[Entry[System]] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        sites: tuple[SitesFile, Source],
        networks: tuple[NetworksFile, Source] | None,
        depts: list[tuple[DepartmentFile, Source]],
    ) -> Declared:
        s, ssrc = sites
        d = cls(sites=s, sites_src=ssrc)
        d.cities = [Entry(x, ssrc, ("cities", i)) for i, x in enumerate(s.cities)]
        d.rooms = [Entry(x, ssrc, ("rooms", i)) for i, x in enumerate(s.rooms)]
        d.clouds = [Entry(x, ssrc, ("clouds", i)) for i, x in enumerate(s.clouds)]
        d.segments = [Entry(x, ssrc, ("segments", i)) for i, x in enumerate(s.segments)]
        d.platforms = [
            Entry(x, ssrc, ("shared_platforms", i)) for i, x in enumerate(s.shared_platforms)
        ]
        if networks is not None:
            n, nsrc = networks
            d.networks = [Entry(x, nsrc, ("networks", i)) for i, x in enumerate(n.networks)]
        for f, src in depts:
            dep = f.department.id
            d.departments.append(Entry(f.department, src, ("department",), dep))
            d.hosts += [Entry(h, src, ("hosts", i), dep) for i, h in enumerate(f.hosts)]
            d.systems += [Entry(x, src, ("systems", i), dep) for i, x in enumerate(f.systems)]
        return d

    def to_census(self, digest: str) -> Census:
        origins: dict[str, str] = {}
        for group in (self.departments, self.hosts, self.systems, self.networks, self.rooms):
            for e in group:
                origins.setdefault(_id(e.obj), e.src.where(e.path))
        return Census.model_construct(
            sites=self.sites,
            networks=[e.obj for e in self.networks],
            departments=[e.obj for e in self.departments],
            hosts=[e.obj for e in self.hosts],
            systems=[e.obj for e in self.systems],
            system_department={e.obj.id: e.department for e in self.systems},
            host_department={e.obj.id: e.department for e in self.hosts},
            digest=digest,
            origins=origins,
        )


def _id(obj: object) -> str:
    return str(getattr(obj, "id", None) or getattr(obj, "name", ""))


def _unique(kind: str, entries: Iterable[Entry[T]], problems: Problems) -> dict[str, Entry[T]]:
    seen: dict[str, Entry[T]] = {}
    for e in entries:
        key = _id(e.obj)
        if key in seen:
            first = seen[key]
            field_name = "name" if kind == "segment" else "id"
            problems.add(
                e.src,
                e.at(field_name),
                f"duplicate {kind} {field_name} `{key}` (first declared at "
                f"{first.src.where(first.at(field_name))})",
                f"give this {kind} another {field_name} or remove one of them",
            )
        else:
            seen[key] = e
    return seen


def _ref(
    problems: Problems,
    e: Entry[Any],
    path: PathKey,
    what: str,
    value: str,
    known: Mapping[str, object],
    declare_in: str,
) -> bool:
    if value in known:
        return True
    problems.add(
        e.src,
        path,
        f"unknown {what} `{value}`{did_you_mean(value, known)}",
        f"use a {what} declared in {declare_in}, or declare `{value}` there",
    )
    return False


def _network(e: Entry[Any], path: PathKey, text: str, problems: Problems) -> IpNet | None:
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        problems.add(
            e.src, path, f"`{text}` is not a valid CIDR ({exc})", "write it as e.g. 10.1.0.0/16"
        )
        return None
    if net.version != 4:
        problems.add(
            e.src,
            path,
            f"`{text}` is an IPv6 CIDR (the stacks are IPv4-only)",
            "write an IPv4 CIDR (e.g. 10.1.0.0/16)",
        )
        return None
    return net


def _address(e: Entry[Any], path: PathKey, text: str, example: str, problems: Problems) -> Any:
    """The IPv4 address `text`, or None (with a problem) when it is none."""
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        problems.add(e.src, path, f"`{text}` is not an IP address", f"write e.g. {example}")
        return None
    if addr.version != 4:
        problems.add(
            e.src,
            path,
            f"`{text}` is an IPv6 address (the stacks are IPv4-only)",
            f"write an IPv4 address (e.g. {example})",
        )
        return None
    return addr


def retired_by_census(system: System) -> str | None:
    """Why the census alone retires `system` (its status or its override), or None.

    The plan may retire more (an `unknown` system without recent use); it refuses dependencies
    on those itself.
    """
    o = system.override
    if o is not None:
        return "which its override retires" if o.disposition == "retire" else None
    if system.status in ("zombie", "shadow"):
        return f"a {system.status} system that will be retired"
    return None


def cross_check(d: Declared, problems: Problems, *, partial: bool = False) -> None:
    """Add a problem for every inconsistency between files.

    `partial`: some files were invalid and are missing here, so unknown references are not
    reported (they would only repeat those files' problems).
    """
    cities = _unique("city", d.cities, problems)
    rooms = _unique("room", d.rooms, problems)
    _unique("cloud", d.clouds, problems)
    _unique("segment", d.segments, problems)
    _unique("shared platform", d.platforms, problems)
    networks = _unique("network", d.networks, problems)
    depts = _unique("department", d.departments, problems)
    hosts = _unique("host", d.hosts, problems)
    systems = _unique("system", d.systems, problems)
    refs = not partial
    sites_file = d.sites_src.name

    def city_ref(e: Entry[Any], path: PathKey, city: str | None, required: bool) -> None:
        if city is None:
            if required:
                problems.add(e.src, path, "`city` is missing", "add `city:` (a city id)")
            return
        _ref(problems, e, path, "city", city, cities, f"{sites_file} `cities`")

    for de in d.departments:
        city_ref(de, de.at("city"), de.obj.city, de.obj.level != "province")
    for re_ in d.rooms:
        if refs:
            _ref(
                problems,
                re_,
                re_.at("department"),
                "department",
                re_.obj.department,
                depts,
                "a dept-<id>.yml file",
            )
        city_ref(re_, re_.at("city"), re_.obj.city, False)
    _check_clouds(d, problems, city_ref)
    _check_segments(d, problems, city_ref)
    cats: dict[str, Entry[SharedPlatform]] = {}
    for pe in d.platforms:
        if pe.obj.category in cats:
            problems.add(
                pe.src,
                pe.at("category"),
                f"two shared platforms for category `{pe.obj.category}`",
                "keep one platform per category",
            )
        cats.setdefault(pe.obj.category, pe)
    net_cidrs = _check_networks(d, problems, depts if refs else None)
    _check_hosts(d, problems, rooms, networks, net_cidrs, refs)
    _check_systems(d, problems, hosts, systems, refs)


def _check_clouds(d: Declared, problems: Problems, city_ref: CityRef) -> None:
    seen: dict[tuple[str, str, str | None], Entry[Cloud]] = {}
    for ce in d.clouds:
        c = ce.obj
        city_ref(ce, ce.at("city"), c.city, c.level == "city")
        if c.level == "province" and c.city is not None:
            problems.add(ce.src, ce.at("city"), "a province cloud has no city", "remove `city:`")
        key = (c.kind, c.level, c.city)
        if key in seen:
            problems.add(
                ce.src,
                ce.path,
                f"a second {c.kind} cloud at {c.level} level"
                + (f" for city {c.city}" if c.city else ""),
                f"keep one (the first is `{seen[key].obj.id}`)",
            )
        seen.setdefault(key, ce)


def _check_segments(d: Declared, problems: Problems, city_ref: CityRef) -> None:
    spans: list[tuple[int, int, Entry[SegmentSpec]]] = []
    for se in d.segments:
        s = se.obj
        city_ref(se, se.at("city"), s.city, False)
        net = _network(se, se.at("cidr"), s.cidr, problems)
        if net is None:
            continue
        if net.num_addresses < 16:
            problems.add(
                se.src, se.at("cidr"), f"segment {s.cidr} is too small", "use /28 or larger"
            )
        if s.gateway is not None:
            gw = _address(se, se.at("gateway"), s.gateway, "198.19.1.1", problems)
            if gw is not None and gw not in net:
                problems.add(
                    se.src,
                    se.at("gateway"),
                    f"gateway {gw} is outside {net}",
                    f"use an address inside {net}",
                )
        spans.append((int(net.network_address), int(net.broadcast_address), se))
    for a, b in _overlaps(spans):
        problems.add(
            b.src,
            b.at("cidr"),
            f"segment `{b.obj.name}` ({b.obj.cidr}) overlaps segment `{a.obj.name}` ({a.obj.cidr})",
            "target segments must not overlap; give one another CIDR",
        )


def _overlaps(spans: list[tuple[int, int, T]]) -> list[tuple[T, T]]:
    """Overlapping pairs among [start, end] spans: sort by start, sweep (no all-pairs loop)."""
    out: list[tuple[T, T]] = []
    active: list[tuple[int, int, T]] = []
    for span in sorted(spans, key=lambda t: (t[0], t[1])):
        start = span[0]
        active = [a for a in active if a[1] >= start]
        out += [(a[2], span[2]) for a in active]
        active.append(span)
    return out


def _check_networks(
    d: Declared, problems: Problems, depts: dict[str, Entry[Department]] | None
) -> dict[str, list[IpNet]]:
    out: dict[str, list[IpNet]] = {}
    for ne in d.networks:
        n = ne.obj
        if depts is not None:
            _ref(
                problems,
                ne,
                ne.at("department"),
                "department",
                n.department,
                depts,
                "a dept-<id>.yml file",
            )
        spans: list[tuple[int, int, tuple[int, IpNet]]] = []
        nets: list[IpNet] = []
        for i, text in enumerate(n.cidrs):
            net = _network(ne, ne.at("cidrs", i), text, problems)
            if net is not None:
                nets.append(net)
                spans.append((int(net.network_address), int(net.broadcast_address), (i, net)))
        for (i, a), (j, b) in _overlaps(spans):
            first, second = (i, a), (j, b)
            if first[0] > second[0]:
                first, second = second, first
            problems.add(
                ne.src,
                ne.at("cidrs", second[0]),
                f"network `{n.id}`: {second[1]} overlaps {first[1]} of the same network",
                "remove the smaller one or correct the prefix",
            )
        out[n.id] = nets
    return out


def _check_hosts(
    d: Declared,
    problems: Problems,
    rooms: dict[str, Entry[Room]],
    networks: dict[str, Entry[PrivateNetwork]],
    net_cidrs: dict[str, list[IpNet]],
    refs: bool,
) -> None:
    used: set[str] = set()
    for se in d.systems:
        used.update(se.obj.hosts)
    sites_file = d.sites_src.name
    on_network: dict[tuple[str, int], Entry[Host]] = {}  # (network, address) -> first host
    for he in d.hosts:
        h = he.obj
        addr = _address(he, he.at("address"), h.address, "10.1.2.3", problems)
        if addr is not None:
            first = on_network.setdefault((h.network, int(addr)), he)
            if first is not he:
                where = first.src.where(first.at("address"))
                problems.add(
                    he.src,
                    he.at("address"),
                    f"host `{h.id}` has address {addr}, already used by host `{first.obj.id}` "
                    f"on network `{h.network}` (declared at {where})",
                    "give each host of a network its own address",
                )
        if refs:
            _ref(
                problems, he, he.at("room"), "machine room", h.room, rooms, f"{sites_file} `rooms`"
            )
        known_net = (
            _ref(problems, he, he.at("network"), "network", h.network, networks, "networks.yml")
            if refs
            else h.network in networks
        )
        cidr_list = net_cidrs.get(h.network) if known_net else None
        if addr is not None and cidr_list and not any(addr in n for n in cidr_list):
            cidrs = ", ".join(str(n) for n in cidr_list)
            problems.add(
                he.src,
                he.at("address"),
                f"host `{h.id}` address {addr} is outside network `{h.network}` ({cidrs})",
                "correct the address or the host's network",
            )
        if refs and h.id not in used:
            problems.add(
                he.src,
                he.path,
                f"host `{h.id}` is not used by any system",
                "list it in a system's `hosts` (a system nobody registered is a shadow system)",
            )


def _check_systems(
    d: Declared,
    problems: Problems,
    hosts: dict[str, Entry[Host]],
    systems: dict[str, Entry[System]],
    refs: bool,
) -> None:
    for se in d.systems:
        s = se.obj
        retired_self = s.status in ("zombie", "shadow")
        if (
            not s.hosts
            and not retired_self
            and (s.override is None or s.override.disposition != "retire")
        ):
            problems.add(
                se.src,
                se.at("hosts"),
                f"system `{s.id}` ({s.status}) has no hosts",
                "list the hosts it runs on (needed to size and move it)",
            )
        if refs:
            for i, h in enumerate(s.hosts):
                _ref(problems, se, se.at("hosts", i), "host", h, hosts, "a dept-<id>.yml `hosts`")
        seen_deps: set[str] = set()
        for i, dep in enumerate(s.depends_on):
            path = se.at("depends_on", i)
            if dep == s.id:
                problems.add(se.src, path, f"system `{s.id}` depends on itself", "remove it")
                continue
            if dep in seen_deps:
                problems.add(se.src, path, f"dependency `{dep}` is listed twice", "keep one")
                continue
            seen_deps.add(dep)
            if not refs:
                continue
            if not _ref(problems, se, path, "system", dep, systems, "a dept-<id>.yml `systems`"):
                continue
            target = systems[dep].obj
            why = retired_by_census(target)
            if why is not None:
                fix = (
                    f"remove the dependency, or change the override of `{dep}`"
                    if target.override is not None
                    else f"remove the dependency, or keep `{dep}` with "
                    "`override: {disposition: migrate, reason: ...}`"
                )
                problems.add(
                    se.src,
                    path,
                    f"system `{s.id}` depends on `{dep}`, {why} "
                    f"(declared at {systems[dep].src.where(systems[dep].path)})",
                    fix,
                )
        _check_sqlite(se, problems)
        ports: dict[tuple[int, str], int] = {}
        for i, svc in enumerate(s.services):
            key = (svc.port, svc.protocol)
            if key in ports:
                problems.add(
                    se.src,
                    se.at("services", i, "port"),
                    f"port {svc.port}/{svc.protocol} is used by two services of `{s.id}`",
                    "give each service its own port",
                )
            ports.setdefault(key, i)


def _check_sqlite(se: Entry[System], problems: Problems) -> None:
    """A SQLite database moves as a file inside the data trees: it must lie in `data.paths`."""
    paths = se.obj.data.paths
    for i, db in enumerate(se.obj.data.databases):
        if db.engine != "sqlite":
            continue
        if not any(db.name == p or db.name.startswith(p + "/") for p in paths):
            problems.add(
                se.src,
                se.at("data", "databases", i, "name"),
                f"SQLite database {db.name} of `{se.obj.id}` is outside its `data.paths` "
                f"({', '.join(paths) or 'none'}); the playbooks copy SQLite files with the "
                "data trees only",
                "add the database's directory to `data.paths`",
            )
