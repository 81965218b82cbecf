"""Disaster recovery: the shared DR centre in the second region.

For the systems the plan protects (DR tier backup, warm or hot) the DR centre mirrors the
department projects (`dr-<project>`) and the segments those systems use (same CIDRs, so a
failover keeps addresses), declares replication-ready volume types, and holds standby capacity:
hot systems get standby servers, warm systems reserved ports (their addresses) and quota, backup
systems only the project and network to restore into. The `dr` output is what a DR drill reads.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_openstack as openstack

from onecloud.iac._credentials import ScopeCredentials
from onecloud.iac._tags import to_metadata, to_tags
from onecloud.iac.components._catalog import (
    REPLICATED_VOLUME_TYPES,
    VolumeTypeSpec,
    declare_volume_types,
)
from onecloud.iac.components._network import NetworkSegments, NetworkSegmentsArgs
from onecloud.iac.components._tenancy import Tenancy, TenancyArgs
from onecloud.iac.components._workloads import system_labels
from onecloud.plan import PlannedSystem, ProjectPlan, Segment, TargetServer

__all__ = ["DisasterRecovery", "DisasterRecoveryArgs"]


@dataclass(frozen=True)
class DisasterRecoveryArgs:
    systems: Sequence[PlannedSystem]
    segments: Sequence[Segment]
    projects: Sequence[ProjectPlan]
    region: str
    credentials: ScopeCredentials
    operator_user_id: pulumi.Input[str]
    operator_role_id: pulumi.Input[str]
    department_admin_role_id: pulumi.Input[str]
    external_network: str
    image_id: pulumi.Input[str]
    standby_tiers: Sequence[str] = ("hot",)
    addressing: str = "mirror"
    dhcp: bool = False
    volume_types: Sequence[VolumeTypeSpec] = REPLICATED_VOLUME_TYPES
    depends_on: Sequence[pulumi.Resource] = field(default_factory=list)


def _standby_entry(t: TargetServer, v: list[Any]) -> dict[str, Any]:
    return {
        "name": f"dr-{t.name}",
        "address": (v[1] or [None])[0],
        "port_id": v[0],
        "server_id": v[2],
    }


def _dr_entry(s: PlannedSystem, standby: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    return s.id, {
        "tier": s.dr_tier,
        "project": f"dr-{s.project}",
        "segment": s.segment,
        "rpo_minutes": s.rpo_minutes,
        "rto_minutes": s.rto_minutes,
        "standby": list(standby),
    }


class DisasterRecovery(pulumi.ComponentResource):
    """Mirrored projects and networks and standby capacity of the protected systems."""

    def __init__(
        self, name: str, args: DisasterRecoveryArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("onecloud:iac:DisasterRecovery", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        protected = sorted((s for s in args.systems if s.dr_tier != "none"), key=lambda s: s.id)
        used_segments = {s.segment for s in protected}
        used_projects = {s.project for s in protected}

        self.volume_types = declare_volume_types(name, args.volume_types, child)
        self.network = NetworkSegments(
            f"{name}-net",
            NetworkSegmentsArgs(
                segments=[s for s in args.segments if s.name in used_segments],
                external_network=args.external_network,
                dhcp=args.dhcp,
                prefix="dr",
                role="dr",
            ),
            opts=child,
        )
        self.tenancy = Tenancy(
            f"{name}-tenancy",
            TenancyArgs(
                projects=[p for p in args.projects if p.name in used_projects],
                credentials=args.credentials,
                region=args.region,
                operator_user_id=args.operator_user_id,
                operator_role_id=args.operator_role_id,
                department_admin_role_id=args.department_admin_role_id,
                prefix="dr-",
                role="dr",
            ),
            opts=child,
        )
        needs = [self.network, *args.depends_on]
        entries: list[pulumi.Output[tuple[str, dict]]] = []
        for s in protected:
            assert s.segment is not None and s.project is not None
            seg = self.network.refs[s.segment]
            provider = self.tenancy.providers[s.project]
            lab = system_labels(s, seg.network, role="dr")
            sopts = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=needs)
            standby: list[pulumi.Output[dict]] = []
            if s.dr_tier in ("hot", "warm"):
                for t in s.targets:
                    fixed = (
                        [
                            openstack.networking.PortFixedIpArgs(
                                subnet_id=seg.subnet_id, ip_address=t.address
                            )
                        ]
                        if args.addressing == "mirror"
                        else [openstack.networking.PortFixedIpArgs(subnet_id=seg.subnet_id)]
                    )
                    port = openstack.networking.Port(
                        f"{name}-{t.name}-port",
                        name=f"dr-{t.name}",
                        description=f"DR standby address of {t.name} ({s.id}, tier {s.dr_tier})",
                        network_id=seg.network_id,
                        fixed_ips=fixed,
                        admin_state_up=True,
                        tags=to_tags(lab),
                        opts=sopts,
                    )
                    server_id: pulumi.Input[str | None] = None
                    if s.dr_tier in args.standby_tiers:
                        server = openstack.compute.Instance(
                            f"{name}-{t.name}",
                            name=f"dr-{t.name}",
                            flavor_name=t.flavor,
                            image_id=args.image_id,
                            networks=[openstack.compute.InstanceNetworkArgs(port=port.id)],
                            metadata=to_metadata(lab),
                            tags=to_tags(lab),
                            opts=sopts,
                        )
                        server_id = server.id
                    standby.append(
                        pulumi.Output.all(port.id, port.all_fixed_ips, server_id).apply(
                            functools.partial(_standby_entry, t)
                        )
                    )
            entries.append(pulumi.Output.all(*standby).apply(functools.partial(_dr_entry, s)))
        self.dr_output: pulumi.Output[dict[str, Any]] = pulumi.Output.all(*entries).apply(dict)
        self.register_outputs({"dr": self.dr_output})
