"""Workloads: the servers the plan migrates in the waves a stack carries.

Per system (a `onecloud:iac:System` component, so the graph reads system by system): a
default-deny security group with the system's written-down flows, and per target server a port
with the planned fixed address on the planned segment, the server booted from the base image
with that port, a data volume (protected: `pulumi destroy` refuses to delete data) attached to
it, and a floating IP only for public-facing extranet systems. Everything is declared through
the provider scoped to the system's department project.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_openstack as openstack

from onecloud.iac._rules import flows_for
from onecloud.iac._tags import labels, to_metadata, to_tags
from onecloud.iac.components._network import SegmentRef
from onecloud.plan import PlannedSystem, TargetServer

__all__ = ["SystemWorkload", "SystemWorkloadArgs", "Workloads", "WorkloadsArgs", "system_labels"]


def system_labels(system: PlannedSystem, zone: str, role: str = "primary") -> dict[str, str]:
    return labels(
        system.department,
        system.id,
        zone=zone,
        mlps=system.protection_level,
        audience=system.audience,
        dr=system.dr_tier,
        role=role,
    )


@dataclass(frozen=True)
class SystemWorkloadArgs:
    system: PlannedSystem
    segment: SegmentRef
    image_id: pulumi.Input[str]
    external_network: str
    network_prefixes: Sequence[str]
    management_cidrs: Sequence[str]
    volume_type: str | None
    protect_volumes: bool = True
    #: catalog and network resources of the same stack that servers and ports need first
    depends_on: Sequence[pulumi.Resource] = field(default_factory=list)


class SystemWorkload(pulumi.ComponentResource):
    """One migrated system's servers, ports, volumes, security group and floating IPs."""

    def __init__(
        self, name: str, args: SystemWorkloadArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("onecloud:iac:System", name, None, opts)
        s, seg = args.system, args.segment
        child = pulumi.ResourceOptions(parent=self)
        needs = pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on))
        lab = system_labels(s, seg.network)
        tags = to_tags(lab)

        sg = openstack.networking.SecGroup(
            f"{name}-sg",
            name=f"sg-{s.id}",
            description=f"flows of {s.name} ({s.id}); everything else is denied",
            delete_default_rules=True,
            tags=tags,
            opts=child,
        )
        # Neutron refuses two equal rules: a changed rule must go before its successor comes
        sg_child = pulumi.ResourceOptions(parent=sg, delete_before_replace=True)
        for flow in flows_for(s, seg.network, args.network_prefixes, args.management_cidrs):
            openstack.networking.SecGroupRule(
                f"{name}-{flow.key}",
                security_group_id=sg.id,
                direction=flow.direction,
                ethertype="IPv4",
                protocol=flow.protocol,
                port_range_min=flow.port_min,
                port_range_max=flow.port_max,
                remote_ip_prefix=flow.remote,
                description=flow.description,
                opts=sg_child,
            )

        targets: list[pulumi.Output[dict]] = []
        for t in s.targets:
            port = openstack.networking.Port(
                f"{name}-{t.name}-port",
                name=t.name,
                description=f"{s.id} on {seg.name}",
                network_id=seg.network_id,
                fixed_ips=[
                    openstack.networking.PortFixedIpArgs(
                        subnet_id=seg.subnet_id, ip_address=t.address
                    )
                ],
                security_group_ids=[sg.id],
                admin_state_up=True,
                tags=tags,
                opts=needs,
            )
            server = openstack.compute.Instance(
                f"{name}-{t.name}",
                name=t.name,
                flavor_name=t.flavor,
                image_id=args.image_id,
                networks=[openstack.compute.InstanceNetworkArgs(port=port.id)],
                metadata=to_metadata(lab),
                tags=tags,
                opts=needs,
            )
            if t.volume_gb > 0:
                volume = openstack.blockstorage.Volume(
                    f"{name}-{t.name}-data",
                    name=f"{t.name}-data",
                    description=f"data of {s.id} ({', '.join(s.data.paths) or 'no paths'})",
                    size=t.volume_gb,
                    volume_type=args.volume_type,
                    metadata=to_metadata(lab),
                    opts=pulumi.ResourceOptions.merge(
                        needs, pulumi.ResourceOptions(protect=args.protect_volumes)
                    ),
                )
                openstack.compute.VolumeAttach(
                    f"{name}-{t.name}-data-attach",
                    instance_id=server.id,
                    volume_id=volume.id,
                    opts=pulumi.ResourceOptions(parent=server),
                )
            fip_address: pulumi.Input[str | None] = None
            if s.floating_ip:
                fip = openstack.networking.FloatingIp(
                    f"{name}-{t.name}-fip",
                    pool=args.external_network,
                    port_id=port.id,
                    description=f"public address of {t.name} ({s.id})",
                    tags=tags,
                    opts=needs,
                )
                fip_address = fip.address
            targets.append(
                pulumi.Output.all(port.id, server.id, fip_address).apply(
                    functools.partial(_target_entry, t)
                )
            )
        self.summary: pulumi.Output[dict[str, Any]] = pulumi.Output.all(*targets).apply(
            lambda ts: {
                "targets": list(ts),
                "segment": seg.name,
                "network": seg.network,
                "project": s.project,
                "department": s.department,
                "wave": s.wave,
                "dr_tier": s.dr_tier,
            }
        )
        self.register_outputs({"summary": self.summary})


def _target_entry(t: TargetServer, ids: list[Any]) -> dict[str, Any]:
    return {
        "name": t.name,
        "address": t.address,
        "port_id": ids[0],
        "server_id": ids[1],
        "floating_ip": ids[2],
    }


@dataclass(frozen=True)
class WorkloadsArgs:
    systems: Sequence[PlannedSystem]
    segments: Mapping[str, SegmentRef]
    #: plan project name -> provider scoped to that project
    providers: Mapping[str, pulumi.ProviderResource]
    image_id: pulumi.Input[str]
    external_network: str
    network_prefixes: Mapping[str, Sequence[str]]
    management_cidrs: Sequence[str]
    volume_type: str | None = "oc-standard"
    protect_volumes: bool = True
    depends_on: Sequence[pulumi.Resource] = field(default_factory=list)


class Workloads(pulumi.ComponentResource):
    """All migrated systems a stack carries; `systems` is what the migration runner reads."""

    def __init__(self, name: str, args: WorkloadsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("onecloud:iac:Workloads", name, None, opts)
        self.systems: dict[str, SystemWorkload] = {}
        for s in sorted(args.systems, key=lambda s: s.id):
            assert s.segment is not None and s.project is not None  # checked by the program
            seg = args.segments[s.segment]
            self.systems[s.id] = SystemWorkload(
                f"{name}-{s.id}",
                SystemWorkloadArgs(
                    system=s,
                    segment=seg,
                    image_id=args.image_id,
                    external_network=args.external_network,
                    network_prefixes=args.network_prefixes[seg.network],
                    management_cidrs=args.management_cidrs,
                    volume_type=args.volume_type,
                    protect_volumes=args.protect_volumes,
                    depends_on=args.depends_on,
                ),
                opts=pulumi.ResourceOptions(
                    parent=self, providers={"openstack": args.providers[s.project]}
                ),
            )
        ids = list(self.systems)
        self.systems_output: pulumi.Output[dict] = pulumi.Output.all(
            *[w.summary for w in self.systems.values()]
        ).apply(lambda summaries: dict(zip(ids, summaries, strict=True)))
        self.register_outputs({"systems": self.systems_output})
