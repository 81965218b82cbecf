"""Pure decisions the components turn into resources: allowed flows and address pools.

Security groups are default-deny: the component deletes Neutron's default rules and declares
exactly the flows listed here. Every flow has a description saying why it exists, so
`openstack security group rule list` reads as the written-down flow matrix.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from onecloud.plan import PlannedSystem, Segment

__all__ = ["WORLD", "Flow", "flows_for", "pool_prefixes"]

WORLD = "0.0.0.0/0"


@dataclass(frozen=True)
class Flow:
    """One security-group rule."""

    direction: str  # ingress | egress
    protocol: str  # tcp | udp | icmp
    remote: str  # remote_ip_prefix
    description: str
    port_min: int | None = None
    port_max: int | None = None

    @property
    def key(self) -> str:
        """A stable name for the rule's resource (renames would replace rules)."""
        ports = (
            f"{self.port_min}"
            if self.port_min == self.port_max
            else f"{self.port_min}-{self.port_max}"
        )
        ports = "" if self.port_min is None else f"-{ports}"
        net = self.remote.replace("/", "_")
        return f"{self.direction[:2]}-{self.protocol}{ports}-{net}"


def pool_prefixes(segments: Iterable[Segment], network: str) -> list[str]:
    """The subnet-pool prefixes of one e-government network: its segments' CIDRs, collapsed."""
    nets = [ipaddress.ip_network(s.cidr) for s in segments if s.network == network]
    return [str(n) for n in ipaddress.collapse_addresses(sorted(nets))]  # type: ignore[type-var]


def flows_for(
    system: PlannedSystem,
    network: str,
    network_prefixes: Sequence[str],
    management_cidrs: Sequence[str],
) -> list[Flow]:
    """The flows a system's servers need, and nothing else.

    - each declared service: from the system's own e-government network; from the world only
      when the service is public and the system sits on the extranet (the consolidated egress
      point is the only way in from the internet);
    - SSH and ICMP from the management networks (operators, the migration runner);
    - SSH from each legacy source host (rsync of the migration and of a rollback's write-back);
    - egress to the own network (dependencies, time, repositories inside the e-government
      network); the extranet's systems may also reach the internet through the consolidated
      egress (tcp 80/443), the intranet never.
    """
    out: list[Flow] = []
    for svc in system.services:
        world = svc.public and network == "extranet"
        remotes = [WORLD] if world else list(network_prefixes)
        for remote in remotes:
            who = "the internet (public service)" if world else f"the {network}"
            out.append(
                Flow(
                    "ingress",
                    svc.protocol,
                    remote,
                    f"{system.id}: {svc.name} from {who}",
                    svc.port,
                    svc.port,
                )
            )
    for cidr in management_cidrs:
        out.append(Flow("ingress", "tcp", cidr, f"{system.id}: ssh from management", 22, 22))
        out.append(Flow("ingress", "icmp", cidr, f"{system.id}: ping from management"))
    for src in system.sources:
        why = f"{system.id}: ssh from {src.id} (the migration's copy path)"
        out.append(Flow("ingress", "tcp", f"{src.address}/32", why, 22, 22))
    for prefix in network_prefixes:
        # every port: no range at all (Neutron reads 1-65535 back as "any", a perpetual diff)
        out.append(Flow("egress", "tcp", prefix, f"{system.id}: tcp to the {network}"))
        out.append(Flow("egress", "udp", prefix, f"{system.id}: udp to the {network}"))
    if network == "extranet":
        for port in (80, 443):
            out.append(
                Flow(
                    "egress",
                    "tcp",
                    WORLD,
                    f"{system.id}: internet via consolidated egress",
                    port,
                    port,
                )
            )
    # one rule per key: a service listed twice must not declare two resources with one name
    seen: dict[str, Flow] = {}
    for f in out:
        seen.setdefault(f.key, f)
    return list(seen.values())
