"""Addressing: fixed addresses for target servers in their segment, and overlapping private CIDRs.

Allocation is deterministic and sticky: an address the previous plan gave a server is kept (so
servers Pulumi already created are not renumbered when the census grows); new servers take the
lowest free address in request order. Reserved in every segment: the network address, the gateway,
the next `RESERVED_AFTER_GATEWAY` addresses (DHCP, routers), the broadcast address, and the
address of every legacy host inside the segment (it still runs when the targets are declared).
"""

from __future__ import annotations

import bisect
import ipaddress
from dataclasses import dataclass, field

from onecloud.census import PrivateNetwork

#: addresses after the gateway kept for the cloud's own ports (DHCP, routers)
RESERVED_AFTER_GATEWAY = 10


def gateway_of(cidr: str, gateway: str | None) -> str:
    net = ipaddress.ip_network(cidr)
    return gateway or str(net.network_address + 1)


@dataclass
class Pool:
    """The free addresses of one segment."""

    cidr: str
    gateway: str
    used: set[int] = field(default_factory=set)
    reserved: int = 0  # allocatable addresses kept for legacy hosts
    _next: int = 0
    _first: int = 0
    _last: int = 0

    def __post_init__(self) -> None:
        net = ipaddress.ip_network(self.cidr)
        base = int(net.network_address)
        self._first = base + 2 + RESERVED_AFTER_GATEWAY
        self._last = int(net.broadcast_address) - 1
        self._next = self._first
        self.used.add(int(ipaddress.ip_address(self.gateway)))
        self._version = net.version

    def claim(self, address: str) -> bool:
        """Keep `address` if it is allocatable and free."""
        try:
            value = int(ipaddress.ip_address(address))
        except ValueError:
            return False
        if not (self._first <= value <= self._last) or value in self.used:
            return False
        self.used.add(value)
        return True

    def keep(self, value: int) -> None:
        """Never hand out `value` (an address in use outside the plan)."""
        if self._first <= value <= self._last and value not in self.used:
            self.reserved += 1
        self.used.add(value)

    def take(self) -> str | None:
        """The lowest free address, or None when the segment is full."""
        value = self._next
        while value in self.used:
            value += 1
        if value > self._last:
            return None
        self.used.add(value)
        self._next = value + 1
        return str(ipaddress.ip_address(value))

    @property
    def capacity(self) -> int:
        return self._last - self._first + 1


def reserve(pools: dict[str, Pool], addresses: list[str]) -> None:
    """Keep each of `addresses` out of the pool whose segment holds it (segments do not overlap:
    a binary search per address, not a pool-by-address loop)."""
    nets = [(ipaddress.ip_network(pool.cidr), pool) for pool in pools.values()]
    spans = sorted(
        ((int(n.network_address), int(n.broadcast_address), pool) for n, pool in nets),
        key=lambda span: (span[0], span[1]),
    )
    starts = [start for start, _, _ in spans]
    for text in addresses:
        try:
            addr = ipaddress.ip_address(text)
        except ValueError:
            continue
        value = int(addr)
        i = bisect.bisect_right(starts, value) - 1
        if i >= 0 and value <= spans[i][1]:
            spans[i][2].keep(value)


def allocate(
    pools: dict[str, Pool],
    requests: list[tuple[str, str]],
    previous: dict[str, tuple[str, str]],
) -> tuple[dict[str, str], list[str]]:
    """Addresses for (segment, server) requests; returns (server -> address, full segments).

    `previous`: server -> (segment, address) from the plan this one replaces.
    """
    out: dict[str, str] = {}
    pending: list[tuple[str, str]] = []
    for seg, server in requests:
        prev = previous.get(server)
        if prev is not None and prev[0] == seg and pools[seg].claim(prev[1]):
            out[server] = prev[1]
        else:
            pending.append((seg, server))
    full: set[str] = set()
    for seg, server in pending:
        address = pools[seg].take()
        if address is None:
            full.add(seg)
        else:
            out[server] = address
    return out, sorted(full)


def overlapping_networks(networks: list[PrivateNetwork]) -> list[tuple[str, str, list[str]]]:
    """(network, cidr, [other networks overlapping it]) for every overlapping private CIDR.

    Sort by start address and sweep, so 60+ (or 6,000) networks cost n log n plus the overlaps.
    """
    spans: list[tuple[int, int, str, str]] = []
    for n in networks:
        for cidr in n.cidrs:
            net = ipaddress.ip_network(cidr)
            spans.append((int(net.network_address), int(net.broadcast_address), n.id, str(net)))
    spans.sort()
    hits: dict[tuple[str, str], set[str]] = {}
    active: list[tuple[int, int, str, str]] = []
    for span in spans:
        active = [a for a in active if a[1] >= span[0]]
        for a in active:
            if a[2] != span[2]:
                hits.setdefault((a[2], a[3]), set()).add(span[2])
                hits.setdefault((span[2], span[3]), set()).add(a[2])
        active.append(span)
    return [(net, cidr, sorted(others)) for (net, cidr), others in sorted(hits.items())]
