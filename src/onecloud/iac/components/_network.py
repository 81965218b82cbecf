"""Network segments: the e-government intranet and extranet as Neutron networks.

Each of the two networks is one shared Neutron network; each plan segment (a level of the
extranet's public-service domain, or an intranet segment) is a subnet carved from that
network's subnet pool, so overlapping CIDRs are refused by Neutron itself. The extranet gets
the consolidated egress: one router with the external gateway (the floating-IP pool). The
intranet's router has no external gateway: there is no internet path from the intranet, and no
route joins the two networks. Subnets of one network reach each other through its router.
"""

from __future__ import annotations

import functools
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
            net = openstack.networking.Network(
                f"{name}-{kind}",
                name=f"{args.prefix}-{kind}",
                description=f"the e-government {kind}",
                admin_state_up=True,
                shared=True,
                external=False,
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
            self.pools[kind], self.networks[kind], self.routers[kind] = pool, net, router
            for seg in segs:
                subnet = openstack.networking.Subnet(
                    f"{name}-{seg.name}",
                    name=f"{args.prefix}-{seg.name}" if args.prefix != "onecloud" else seg.name,
                    description=f"{kind} segment, level {seg.level}"
                    + (f", city {seg.city}" if seg.city else ""),
                    network_id=net.id,
                    subnetpool_id=pool.id,
                    cidr=seg.cidr,
                    gateway_ip=seg.gateway,
                    ip_version=4,
                    enable_dhcp=args.dhcp,
                    tags=to_tags(
                        labels(
                            SHARED_DEPARTMENT,
                            SHARED_SYSTEM,
                            zone=kind,
                            role=args.role,
                            segment=seg.name,
                            level=seg.level,
                        )
                    ),
                    opts=child,
                )
                openstack.networking.RouterInterface(
                    f"{name}-{seg.name}-if",
                    router_id=router.id,
                    subnet_id=subnet.id,
                    opts=child,
                )
                self.subnets[seg.name] = subnet
                self.refs[seg.name] = SegmentRef(seg.name, kind, seg.cidr, net.id, subnet.id)

        self.segments_output: pulumi.Output[dict[str, dict[str, str]]] = pulumi.Output.all(
            *[
                pulumi.Output.all(r.network_id, r.subnet_id).apply(functools.partial(_entry, r))
                for r in self.refs.values()
            ]
        ).apply(lambda pairs: dict(sorted(pairs)))
        self.register_outputs({"segments": self.segments_output})


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
