"""The network flows to prove, derived from the plan: what must work and what must fail. Pure.

The rules are the security groups' (`iac._rules.flows_for`, re-derived here from the plan's
fields: verify sits below iac; a unit test keeps both in agreement) plus the routing of
docs/stacks.md: no route joins the two e-government networks, and only the extranet has the
consolidated internet egress. Sources and destinations are the target servers of migrated
systems, at the stack's addresses when its `systems` output is given, else the plan's.

- must work: each declared tcp service of a system from the hosts of its own network (the
  network's segments; from anywhere on it when the service is public), ssh from management
  addresses on the own network, a dependency's ports from the dependent system's servers, and
  (with an internet address) tcp 80/443 from extranet servers through the egress, and (with
  a host standing for the internet) each public service through its server's floating IP;
- must fail: the same declared ports across the two networks (extranet -> intranet and back),
  every undeclared probe port (`PROBE_PORTS`), cross-department traffic on ports the
  destination does not declare, ssh from non-management addresses, intranet -> internet, and
  every other probed port of a floating IP from the internet.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from onecloud.plan import Plan, PlannedSystem

__all__ = [
    "INTERNET",
    "INTERNET_PORTS",
    "PROBE_PORTS",
    "WORLD",
    "Expect",
    "Flow",
    "Ingress",
    "derive_flows",
    "ingress_rules",
    "network_prefixes",
]

Expect = Literal["open", "closed"]

WORLD = "0.0.0.0/0"
#: the pseudo system and host standing for the internet (its address is a parameter)
INTERNET = "internet"
#: the ports the consolidated egress lets extranet servers reach on the internet
INTERNET_PORTS = (80, 443)
#: ports probed on every destination besides its declared ones: ssh, the databases, the lab's
#: web ports, and one high port nothing declares
PROBE_PORTS = (22, 3306, 5432, 8080, 8081, 8082, 47613)


@dataclass(frozen=True)
class Flow:
    """One TCP connection to try from `source_host` and what it must do."""

    source_host: str
    source_address: str
    dest_system: str
    dest_host: str
    dest_address: str
    port: int
    expect: Expect
    why: str

    @property
    def name(self) -> str:
        return f"{self.source_host} -> {self.dest_host}:{self.port}"


@dataclass(frozen=True)
class Ingress:
    """An ingress rule of a system's security group, as `iac._rules.flows_for` declares it."""

    protocol: str  # tcp | udp | icmp
    port: int | None  # None: icmp
    remote: str
    why: str


@dataclass(frozen=True)
class _Host:
    name: str
    address: str
    system: PlannedSystem
    network: str
    segment: str


def network_prefixes(plan: Plan, network: str) -> list[str]:
    """One e-government network's prefixes: its segments' CIDRs, collapsed."""
    nets = [ipaddress.IPv4Network(s.cidr) for s in plan.segments if s.network == network]
    return [str(n) for n in ipaddress.collapse_addresses(sorted(nets))]


def ingress_rules(
    system: PlannedSystem,
    network: str,
    prefixes: Sequence[str],
    management_cidrs: Sequence[str],
) -> list[Ingress]:
    """The ingress a system's security group allows: each service from the own network (from
    the world when public and on the extranet), ssh and icmp from management, ssh from the
    legacy source hosts (the copy path)."""
    out: list[Ingress] = []
    for svc in system.services:
        world = svc.public and network == "extranet"
        for remote in [WORLD] if world else list(prefixes):
            who = "the internet (public service)" if world else f"the {network}"
            out.append(
                Ingress(svc.protocol, svc.port, remote, f"{system.id}: {svc.name} from {who}")
            )
    for cidr in management_cidrs:
        out.append(Ingress("tcp", 22, cidr, f"{system.id}: ssh from management"))
        out.append(Ingress("icmp", None, cidr, f"{system.id}: ping from management"))
    for src in system.sources:
        why = f"{system.id}: ssh from {src.id} (the migration's copy path)"
        out.append(Ingress("tcp", 22, f"{src.address}/32", why))
    seen: dict[tuple[str, int | None, str], Ingress] = {}
    for r in out:
        seen.setdefault((r.protocol, r.port, r.remote), r)
    return list(seen.values())


def _within(address: str, cidr: str) -> bool:
    return ipaddress.IPv4Address(address) in ipaddress.IPv4Network(cidr, strict=False)


def _hosts(plan: Plan, outputs: Mapping[str, Any] | None) -> list[_Host]:
    """Every target server of a migrated, placed system, at the stack's address if known."""
    networks = {s.name: s.network for s in plan.segments}
    out = []
    for s in sorted(plan.systems, key=lambda s: s.id):
        if s.disposition != "migrate" or s.segment not in networks:
            continue
        entry = (outputs or {}).get(s.id)
        if isinstance(entry, Mapping) and entry.get("targets"):
            pairs = [(str(t["name"]), str(t["address"])) for t in entry["targets"]]
        else:
            pairs = [(t.name, t.address) for t in s.targets]
        for name, address in sorted(pairs):
            out.append(_Host(name, address, s, networks[s.segment], s.segment))
    return out


def _representatives(hosts: Iterable[_Host]) -> list[_Host]:
    """One source per (segment, department): enough to prove what a network and a department
    may reach, without probing from every server."""
    first: dict[tuple[str, str], _Host] = {}
    for h in sorted(hosts, key=lambda h: h.name):
        first.setdefault((h.segment, h.system.department), h)
    return list(first.values())


def _judge(
    src: _Host,
    dst: _Host,
    port: int,
    rules: Sequence[Ingress],
    management_cidrs: Sequence[str],
    dependency: bool,
) -> tuple[Expect, str]:
    d = dst.system
    declared = port in {svc.port for svc in d.services if svc.protocol == "tcp"}
    need = f"; {src.system.id} depends on {d.id}" if dependency else ""
    if src.network != dst.network:
        what = f"declared port of {d.id}" if declared else f"port {port} is not declared by {d.id}"
        return "closed", (
            f"{src.network} -> {dst.network}: {what}, but no route joins the two networks{need}"
        )
    allowed = [
        r
        for r in rules
        if r.protocol == "tcp" and r.port == port and _within(src.address, r.remote)
    ]
    if allowed:
        return "open", allowed[0].why + need
    if declared:
        return "closed", f"{d.id}: port {port} is declared, but not from {src.address}{need}"
    if port == 22:
        mgmt = ", ".join(management_cidrs) or "none given"
        return "closed", f"{d.id}: ssh only from management ({mgmt}){need}"
    cross = (
        f"cross-department ({src.system.department} -> {d.department}): "
        if src.system.department != d.department
        else ""
    )
    return "closed", f"{cross}port {port} is not declared by {d.id}{need}"


def derive_flows(
    plan: Plan,
    systems: Iterable[str],
    *,
    outputs: Mapping[str, Any] | None = None,
    management_cidrs: Sequence[str] = (),
    internet: str | None = None,
    internet_host: str | None = None,
    probe_ports: Sequence[int] = PROBE_PORTS,
) -> list[Flow]:
    """The flows into (and the internet flows out of) the servers of `systems` (ids of
    migrated systems), sorted by destination, port and source; one flow per source, destination
    and port. `outputs`: a stack's `systems` output (or several merged), else the plan's
    addresses. `internet`: an address standing for the internet (None: not probed);
    `internet_host`: the host at that address, which probes the floating IPs of the `outputs`
    (None: the internet is only a destination)."""
    wanted = list(dict.fromkeys(systems))
    hosts = _hosts(plan, outputs)
    by_system: dict[str, list[_Host]] = {}
    for h in hosts:
        by_system.setdefault(h.system.id, []).append(h)
    prefixes = {n: network_prefixes(plan, n) for n in ("extranet", "intranet")}
    flows: dict[tuple[str, str, int], Flow] = {}

    def add(src: _Host, dst: _Host, ports: Iterable[int], dependency: bool) -> None:
        rules = ingress_rules(dst.system, dst.network, prefixes[dst.network], management_cidrs)
        for port in ports:
            key = (src.name, dst.name, port)
            if key in flows:
                continue
            expect, why = _judge(src, dst, port, rules, management_cidrs, dependency)
            flows[key] = Flow(
                src.name, src.address, dst.system.id, dst.name, dst.address, port, expect, why
            )

    fips = {
        str(t["name"]): str(t["floating_ip"])
        for entry in (outputs or {}).values()
        if isinstance(entry, Mapping)
        for t in entry.get("targets") or ()
        if t.get("floating_ip")
    }

    def from_internet(dst: _Host, ports: Iterable[int]) -> None:
        assert internet is not None and internet_host is not None
        rules = ingress_rules(dst.system, dst.network, prefixes[dst.network], management_cidrs)
        for port in ports:
            allowed = [
                r
                for r in rules
                if r.protocol == "tcp" and r.port == port and _within(internet, r.remote)
            ]
            if allowed:
                expect: Expect = "open"
                why = f"{allowed[0].why}, through floating IP {fips[dst.name]}"
            else:
                expect = "closed"
                why = f"{dst.system.id}: port {port} is not open to the internet"
            flows.setdefault(
                (internet_host, dst.name, port),
                Flow(
                    internet_host, internet, dst.system.id, dst.name, fips[dst.name], port,
                    expect, why,
                ),
            )  # fmt: skip

    def tcp_ports(s: PlannedSystem) -> list[int]:
        return sorted({svc.port for svc in s.services if svc.protocol == "tcp"})

    for sid in wanted:
        dests = by_system.get(sid, [])
        if not dests:
            continue
        d = dests[0].system
        declared = tcp_ports(d)
        ports = sorted(set(declared) | set(probe_ports))
        others = [h for h in hosts if h.system.id != d.id]
        reps = _representatives(others)
        dependents = [h for h in others if d.id in h.system.depends_on]
        for dst in dests:
            # the servers that depend on it first: their flows say so
            for src in dependents:
                add(src, dst, declared, True)
            for src in reps + dependents:
                add(src, dst, ports, False)
        # its dependencies' ports from its own servers
        for dep_id in d.depends_on:
            for dep in by_system.get(dep_id, []):
                for src in dests:
                    add(src, dep, tcp_ports(dep.system), True)
        if internet is not None and internet_host is not None:
            for dst in dests:
                if dst.name in fips:
                    from_internet(dst, ports)
        if internet is not None:
            for src in dests:
                for port in INTERNET_PORTS:
                    key = (src.name, INTERNET, port)
                    if src.network == "extranet":
                        expect: Expect = "open"
                        why = f"{d.id}: internet via the consolidated egress"
                    else:
                        expect, why = "closed", f"{d.id}: the intranet never reaches the internet"
                    flows.setdefault(
                        key,
                        Flow(
                            src.name, src.address, INTERNET, INTERNET, internet, port, expect, why
                        ),
                    )
    return sorted(flows.values(), key=lambda f: (f.dest_system, f.dest_host, f.port, f.source_host))
