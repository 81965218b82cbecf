"""Network segments: the e-government intranet and extranet as Neutron networks.

Each plan segment (a level of the extranet's public-service domain, or an intranet segment) is
a Neutron network of its own with one subnet carved from its e-government network's subnet
pool, so overlapping CIDRs are refused by Neutron itself. The segments of one e-government
network are joined by that network's router: the extranet's has the external gateway (the
consolidated egress, and the floating-IP pool); the intranet's has none, so there is no internet
path from the intranet, and no route joins the two networks. A network per segment (not one
network with a subnet per segment) keeps routed traffic between segments on two bridges, so
the firewall's connection tracking sees each leg once (docs/network.md).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_openstack as openstack

from onecloud.iac._rules import pool_prefixes
from onecloud.iac._tags import SHARED_DEPARTMENT, SHARED_SYSTEM, labels, to_tags
from onecloud.plan import Segment

__all__ = ["NetworkSegments", "NetworkSegmentsArgs", "SegmentRef", "refs_from_output"]

KINDS = ("extranet", "intranet")


@dataclass(frozen=True)
class NetworkSegmentsArgs:
    segments: Sequence[Segment]
    #: name of the provider network holding the floating-IP pool (the lab's is "public")
    external_network: str
    dhcp: bool = False
    #: prefix of OpenStack names ("onecloud" for the primary site, "dr" for the DR centre)
    prefix: str = "onecloud"
    role: str = "primary"
    #: CIDR of the management network (the operators' and the migration runner's path to
    #: every segment: both routers get an interface on it); None: no management network
    management_cidr: str | None = None


@dataclass(frozen=True)
class SegmentRef:
    """What workloads need of a segment; from this stack or from a StackReference."""

    name: str
    network: str  # intranet | extranet
    cidr: str
    network_id: pulumi.Input[str]
    subnet_id: pulumi.Input[str]


class NetworkSegments(pulumi.ComponentResource):
    """The two e-government networks of one site, with their segments and routers."""

    def __init__(
        self, name: str, args: NetworkSegmentsArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("onecloud:iac:NetworkSegments", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.networks: dict[str, openstack.networking.Network] = {}
        self.pools: dict[str, openstack.networking.SubnetPool] = {}
        self.subnets: dict[str, openstack.networking.Subnet] = {}
        self.routers: dict[str, openstack.networking.Router] = {}
        self.refs: dict[str, SegmentRef] = {}

        external = openstack.networking.get_network_output(
            name=args.external_network, external=True, opts=pulumi.InvokeOptions(parent=self)
        )

        for kind in KINDS:
            segs = sorted((s for s in args.segments if s.network == kind), key=lambda s: s.name)
            if not segs:
                continue
            tags = to_tags(labels(SHARED_DEPARTMENT, SHARED_SYSTEM, zone=kind, role=args.role))
            prefixes = pool_prefixes(segs, kind)
            lens = [int(s.cidr.split("/")[1]) for s in segs]
            pool = openstack.networking.SubnetPool(
                f"{name}-{kind}-pool",
                name=f"{args.prefix}-{kind}",
                description=f"address space of the e-government {kind}; refuses overlaps",
                prefixes=prefixes,
                min_prefixlen=min(lens),
                default_prefixlen=min(lens),
                max_prefixlen=32,
                ip_version=4,
                shared=True,
                tags=tags,
                opts=child,
            )
            router = openstack.networking.Router(
                f"{name}-{kind}-router",
                name=f"{args.prefix}-{kind}",
                description=(
                    "consolidated internet egress of the extranet"
                    if kind == "extranet"
                    else "intranet router: no external gateway, no internet path"
                ),
                admin_state_up=True,
                external_network_id=external.id if kind == "extranet" else None,
                tags=tags,
                opts=child,
            )
            self.pools[kind], self.routers[kind] = pool, router
            for seg in segs:
                seg_name = f"{args.prefix}-{seg.name}" if args.prefix != "onecloud" else seg.name
                seg_tags = to_tags(
                    labels(
                        SHARED_DEPARTMENT,
                        SHARED_SYSTEM,
                        zone=kind,
                        role=args.role,
                        segment=seg.name,
                        level=seg.level,
                    )
                )
                where = f"{kind} segment, level {seg.level}" + (
                    f", city {seg.city}" if seg.city else ""
                )
                net = openstack.networking.Network(
                    f"{name}-{seg.name}-net",
                    name=seg_name,
                    description=f"the e-government {where}",
                    admin_state_up=True,
                    shared=True,
                    external=False,
                    tags=seg_tags,
                    opts=child,
                )
                subnet = openstack.networking.Subnet(
                    f"{name}-{seg.name}",
                    name=seg_name,
                    description=where,
                    network_id=net.id,
                    subnetpool_id=pool.id,
                    cidr=seg.cidr,
                    gateway_ip=seg.gateway,
                    ip_version=4,
                    enable_dhcp=args.dhcp,
                    tags=seg_tags,
                    opts=child,
                )
                openstack.networking.RouterInterface(
                    f"{name}-{seg.name}-if",
                    router_id=router.id,
                    subnet_id=subnet.id,
                    opts=child,
                )
                self.networks[seg.name] = net
                self.subnets[seg.name] = subnet
                self.refs[seg.name] = SegmentRef(seg.name, kind, seg.cidr, net.id, subnet.id)

        self.management_output: pulumi.Output[dict[str, Any]] | None = None
        if args.management_cidr and self.routers:
            self.management_output = self._management(name, args, child)

        self.segments_output: pulumi.Output[dict[str, dict[str, str]]] = pulumi.Output.all(
            *[
                pulumi.Output.all(r.network_id, r.subnet_id).apply(functools.partial(_entry, r))
                for r in self.refs.values()
            ]
        ).apply(lambda pairs: dict(sorted(pairs)))
        self.register_outputs(
            {"segments": self.segments_output, "management": self.management_output}
        )

    def _management(
        self, name: str, args: NetworkSegmentsArgs, child: pulumi.ResourceOptions
    ) -> pulumi.Output[dict[str, Any]]:
        """The management network: one subnet without a gateway, and an interface of each
        router on it at a fixed address (.2 extranet, .3 intranet), so a host on it reaches
        every segment through that segment's own router. The routers do not route to each
        other: neither has a route to the other's segments."""
        assert args.management_cidr is not None
        cidr = ipaddress.ip_network(args.management_cidr)
        tags = to_tags(labels(SHARED_DEPARTMENT, SHARED_SYSTEM, zone="management", role=args.role))
        net = openstack.networking.Network(
            f"{name}-management",
            name=f"{args.prefix}-management",
            description="management path: operators and the migration runner reach the segments",
            admin_state_up=True,
            tags=tags,
            opts=child,
        )
        subnet = openstack.networking.Subnet(
            f"{name}-management-subnet",
            name=f"{args.prefix}-management",
            network_id=net.id,
            cidr=str(cidr),
            no_gateway=True,
            ip_version=4,
            enable_dhcp=False,
            tags=tags,
            opts=child,
        )
        addresses: dict[str, str] = {}
        for offset, (kind, router) in enumerate(sorted(self.routers.items()), start=2):
            address = str(cidr.network_address + offset)
            port = openstack.networking.Port(
                f"{name}-{kind}-management",
                name=f"{args.prefix}-{kind}-management",
                description=f"the {kind} router on the management network",
                network_id=net.id,
                fixed_ips=[
                    openstack.networking.PortFixedIpArgs(subnet_id=subnet.id, ip_address=address)
                ],
                tags=tags,
                opts=child,
            )
            openstack.networking.RouterInterface(
                f"{name}-{kind}-management-if", router_id=router.id, port_id=port.id, opts=child
            )
            addresses[kind] = address
        return pulumi.Output.all(net.id, subnet.id).apply(
            lambda ids: {
                "network_id": ids[0],
                "subnet_id": ids[1],
                "cidr": str(cidr),
                "routers": addresses,
            }
        )


def _entry(ref: SegmentRef, ids: list[Any]) -> tuple[str, dict[str, str]]:
    return ref.name, {
        "network": ref.network,
        "cidr": ref.cidr,
        "network_id": ids[0],
        "subnet_id": ids[1],
    }


def _pick(seg_name: str, key: str, all_segments: dict[str, Any] | None) -> str:
    if seg_name not in (all_segments or {}):
        raise KeyError(
            f"segment {seg_name!r} is not in the network stack's `segments` output; "
            "run `pulumi up` of the network stack with the current plan first"
        )
    return str(all_segments[seg_name][key])  # type: ignore[index]


def refs_from_output(
    segments: pulumi.Output[Any], wanted: Sequence[Segment]
) -> dict[str, SegmentRef]:
    """SegmentRefs from the `segments` output of the network stack (read via StackReference)."""
    return {
        seg.name: SegmentRef(
            seg.name,
            seg.network,
            seg.cidr,
            segments.apply(functools.partial(_pick, seg.name, "network_id")),
            segments.apply(functools.partial(_pick, seg.name, "subnet_id")),
        )
        for seg in wanted
    }
