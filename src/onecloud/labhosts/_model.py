"""Lab hosts: the spec, the status, and the pure rules about names and addresses.

No I/O here: validation, address math and the names of kernel objects (network namespace,
veth) are derived from a spec alone, so they are unit-tested without root.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from onecloud.errors import UsageError
from onecloud.labhosts.workloads import CATALOG

#: every lab address lives here (RFC 2544 benchmarking range: never routed on the internet)
LAB_NETWORK = ipaddress.IPv4Network("198.18.0.0/15")
ROLES = ("legacy", "target", "internet")
DEFAULT_DISK_MB = 512
#: prefixes of the kernel objects the lab creates (so teardown recognises its own)
VETH_PREFIX = "oclv"
DEFAULT_LAB_DIR = "/var/lib/onecloud-lab"

_MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class PortPlug:
    """A Neutron port the host is plugged into, as os-vif would plug a VM's interface: the
    machine end of the host's veth is the port's tap (`tap` + the port id's first 11
    characters), added to the network's bridge (`brq` + the network id's first 11), and the
    host end carries the port's MAC. Neutron then enforces the port's security groups."""

    port_id: str
    mac: str
    network_id: str

    @property
    def tap(self) -> str:
        return "tap" + self.port_id[:11]

    @property
    def bridge(self) -> str:
        return "brq" + self.network_id[:11]


@dataclass(frozen=True)
class HostSpec:
    """What one lab host should be. `name` is also its SSH alias in the generated ssh_config."""

    name: str
    address: str  # IPv4 with prefix inside 198.18.0.0/15, e.g. "198.18.0.11/24"
    #: "legacy" (a department's old server), "target" (a cloud server) or "internet" (the
    #: lab's stand-in for the internet, on the cloud's external network)
    role: str = "legacy"
    workloads: tuple[str, ...] = ()  # seeded on first start: webapp, postgresql, sqlite
    disk_mb: int | None = None  # size of the tmpfs backing /srv; None = DEFAULT_DISK_MB
    #: the cloud port of a server (a target on the lab's data plane); None: on the lab bridge
    port: PortPlug | None = None

    @property
    def interface(self) -> ipaddress.IPv4Interface:
        return ipaddress.IPv4Interface(self.address)

    @property
    def ip(self) -> str:
        return str(self.interface.ip)

    @property
    def srv_mb(self) -> int:
        return self.disk_mb if self.disk_mb is not None else DEFAULT_DISK_MB


@dataclass
class HostStatus:
    """What one lab host is now. `pid` is the host's `unshare` process on the machine."""

    name: str
    address: str
    pid: int | None
    reachable: bool
    role: str
    workloads: tuple[str, ...] = ()
    detail: str = ""  # why it is not reachable, or "" when it is
    log: str = ""  # the host's console log on the machine
    services: dict[str, bool] = field(default_factory=dict)  # service -> /health answered 200
    port_id: str | None = None  # the cloud port it is plugged into (None: on the lab bridge)


def lab_tag(lab_dir: str) -> str:
    """ "" for the machine's lab (/var/lib/onecloud-lab); a short hash for a lab in another
    directory (a benchmark, a test run beside the real lab), which then gets kernel objects of
    its own: neither lab touches the other's namespaces, veths or bridge addresses."""
    if lab_dir.rstrip("/") == DEFAULT_LAB_DIR:
        return ""
    return hashlib.sha1(lab_dir.encode()).hexdigest()[:6]


def netns_prefix(tag: str = "") -> str:
    return f"ocl{tag}-"


def netns_name(host: str, tag: str = "") -> str:
    return netns_prefix(tag) + host


def veth_name(host: str, tag: str = "") -> str:
    """The machine-side veth: interface names are limited to 15 bytes, so hash the host name."""
    return VETH_PREFIX + hashlib.sha1((tag + host).encode()).hexdigest()[:8]


def bridge_name(tag: str = "") -> str:
    return "oclbr" + (tag or "0")


def gateway_of(iface: ipaddress.IPv4Interface) -> ipaddress.IPv4Interface:
    """The bridge's address in a host's subnet: the first usable address, same prefix."""
    net = iface.network
    return ipaddress.IPv4Interface(f"{net.network_address + 1}/{net.prefixlen}")


def gateways(specs: Iterable[HostSpec]) -> set[ipaddress.IPv4Interface]:
    """One lab-bridge address per distinct subnet of the hosts on the bridge (a plugged host's
    gateway is its subnet's router, in the cloud: never an address of the machine)."""
    return {gateway_of(s.interface) for s in specs if s.port is None}


def health_ports(spec: HostSpec) -> dict[str, int]:
    """service name -> HTTP port with /health, for the workloads of `spec`."""
    return {
        svc.name: svc.port
        for w in spec.workloads
        for svc in CATALOG[w].services
        if svc.port is not None
    }


def _address_problems(spec: HostSpec) -> list[str]:
    where = f"host {spec.name!r}: address {spec.address!r}"
    try:
        iface = ipaddress.IPv4Interface(spec.address)
    except ValueError:
        return [f"{where} is not an IPv4 address with a prefix; write it like '198.18.0.11/24'"]
    if "/" not in spec.address:
        return [f"{where} has no prefix; write it like '{spec.address}/24'"]
    net = iface.network
    if not net.subnet_of(LAB_NETWORK):
        return [f"{where} is outside the lab network {LAB_NETWORK}; use an address in it"]
    if net.prefixlen > 30:
        return [f"{where}: a /{net.prefixlen} leaves no room for a gateway; use /30 or shorter"]
    if iface.ip in (net.network_address, net.broadcast_address):
        return [f"{where} is the network or broadcast address of {net}; pick a host address"]
    if iface.ip == gateway_of(iface).ip:
        return [f"{where} is the lab gateway of {net} (the bridge); pick another address"]
    return []


def spec_problems(spec: HostSpec) -> list[str]:
    """Everything wrong with one spec on its own (empty list: fine)."""
    problems: list[str] = []
    if not isinstance(spec.name, str) or not _NAME_RE.match(spec.name):
        problems.append(
            f"host name {spec.name!r} is not a valid host name; use lower-case letters, digits"
            " and '-' (at most 63, not starting or ending with '-')"
        )
        return problems
    problems += _address_problems(spec)
    if spec.role not in ROLES:
        problems.append(
            f"host {spec.name!r}: role {spec.role!r} is unknown; valid roles: {', '.join(ROLES)}"
        )
    for w in spec.workloads:
        if w not in CATALOG:
            problems.append(
                f"host {spec.name!r}: workload {w!r} is unknown;"
                f" valid workloads: {', '.join(sorted(CATALOG))}"
            )
    if len(set(spec.workloads)) != len(spec.workloads):
        problems.append(f"host {spec.name!r}: workloads {list(spec.workloads)} repeat one")
    if spec.port is not None and not _MAC_RE.match(spec.port.mac):
        problems.append(f"host {spec.name!r}: port MAC {spec.port.mac!r} is not a MAC address")
    if spec.disk_mb is not None and (not isinstance(spec.disk_mb, int) or spec.disk_mb < 16):
        problems.append(
            f"host {spec.name!r}: disk_mb {spec.disk_mb!r} is too small; give at least 16 (MB)"
        )
    return problems


def _segment(spec: HostSpec) -> str:
    """The layer-2 segment a host sits on: its cloud network, or the lab bridge."""
    return spec.port.network_id if spec.port else ""


def validate(specs: Sequence[HostSpec], others: Mapping[str, HostSpec] = {}) -> None:
    """Raise UsageError listing every problem in `specs`, also against hosts already running
    (`others`: name -> spec of running hosts not being replaced by `specs`)."""
    problems: list[str] = []
    for spec in specs:
        problems += spec_problems(spec)
    if problems:
        raise UsageError("invalid lab host specs:\n  " + "\n  ".join(problems))

    by_name: dict[str, HostSpec] = {}
    by_ip: dict[tuple[str, str], str] = {
        (_segment(o), o.ip): n for n, o in others.items() if n not in {s.name for s in specs}
    }
    for spec in specs:
        if spec.name in by_name:
            problems.append(f"host {spec.name!r} is listed twice")
        by_name[spec.name] = spec
        owner = by_ip.get((_segment(spec), spec.ip))
        if owner is not None and owner != spec.name:
            problems.append(f"host {spec.name!r}: address {spec.ip} is already used by {owner!r}")
        by_ip[(_segment(spec), spec.ip)] = spec.name

    nets = sorted(
        {s.interface.network for s in [*specs, *others.values()] if s.port is None},
        key=lambda n: (int(n.network_address), n.prefixlen),
    )
    for i, a in enumerate(nets):
        for b in nets[i + 1 :]:
            if a.overlaps(b):
                problems.append(
                    f"subnets {a} and {b} overlap; hosts in one subnet must use the same prefix"
                )
    if problems:
        raise UsageError(
            "invalid lab host specs:\n  " + "\n  ".join(problems),
            hint="give every host a unique name and address",
        )
