"""Cloud tenancy: the Keystone hierarchy, one project per department per cloud, and its limits.

Hierarchy: a parent project per cloud and site (`public-province`, `admin-city-foshan`), the
department projects (`public-province-edu`) below it. Each department project gets a group of
its administrators with a role on it, quotas from the plan (compute, block storage, network),
and the operator (the user of the stack's clouds.yaml entry) gets the operator role on it, so
that a provider scoped to the project can create the department's servers and volumes there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_openstack as openstack

from onecloud.iac._credentials import ScopeCredentials
from onecloud.iac._tags import SHARED_SYSTEM, labels, to_tags
from onecloud.plan import ProjectPlan

__all__ = ["Tenancy", "TenancyArgs", "parent_name"]


def parent_name(project: ProjectPlan, prefix: str = "") -> str:
    where = "province" if project.level == "province" else f"city-{project.city}"
    return f"{prefix}{project.cloud}-{where}"


@dataclass(frozen=True)
class TenancyArgs:
    projects: Sequence[ProjectPlan]
    credentials: ScopeCredentials
    region: str
    operator_user_id: pulumi.Input[str]
    operator_role_id: pulumi.Input[str]
    department_admin_role_id: pulumi.Input[str]
    #: prefix of Keystone names ("" for the primary site, "dr-" for the DR centre)
    prefix: str = ""
    role: str = "primary"


class Tenancy(pulumi.ComponentResource):
    """Department projects of the clouds one stack carries."""

    def __init__(self, name: str, args: TenancyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("onecloud:iac:Tenancy", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.parents: dict[str, openstack.identity.Project] = {}
        self.projects: dict[str, openstack.identity.Project] = {}
        self.providers: dict[str, openstack.Provider] = {}

        for p in sorted(args.projects, key=lambda p: p.name):
            pname = parent_name(p, args.prefix)
            if pname not in self.parents:
                self.parents[pname] = openstack.identity.Project(
                    f"{name}-{pname}",
                    name=pname,
                    description=f"{p.cloud}-service cloud of the "
                    + ("province" if p.level == "province" else f"city {p.city}"),
                    enabled=True,
                    tags=to_tags(labels("shared", SHARED_SYSTEM, cloud=p.cloud, role=args.role)),
                    opts=child,
                )
            pname_full = f"{args.prefix}{p.name}"
            project = openstack.identity.Project(
                f"{name}-{p.name}",
                name=pname_full,
                description=f"{p.department_name} ({p.cloud}-service cloud)",
                parent_id=self.parents[pname].id,
                enabled=True,
                tags=to_tags(labels(p.department, SHARED_SYSTEM, cloud=p.cloud, role=args.role)),
                opts=child,
            )
            self.projects[p.name] = project
            pchild = pulumi.ResourceOptions(parent=project)
            group = openstack.identity.GroupV3(
                f"{name}-{p.name}-admins",
                name=f"{pname_full}-admins",
                description=f"administrators of {p.department_name} in {pname_full}",
                opts=pchild,
            )
            openstack.identity.RoleAssignment(
                f"{name}-{p.name}-admins-role",
                group_id=group.id,
                project_id=project.id,
                role_id=args.department_admin_role_id,
                opts=pchild,
            )
            operator = openstack.identity.RoleAssignment(
                f"{name}-{p.name}-operator-role",
                user_id=args.operator_user_id,
                project_id=project.id,
                role_id=args.operator_role_id,
                opts=pchild,
            )
            q = p.quota
            openstack.compute.QuotaSetV2(
                f"{name}-{p.name}-compute-quota",
                project_id=project.id,
                instances=q.instances,
                cores=q.cores,
                ram=q.ram_mb,
                opts=pchild,
            )
            openstack.blockstorage.QuoteSetV3(
                f"{name}-{p.name}-volume-quota",
                project_id=project.id,
                volumes=q.volumes,
                gigabytes=q.gigabytes,
                opts=pchild,
            )
            openstack.networking.QuotaV2(
                f"{name}-{p.name}-network-quota",
                project_id=project.id,
                floatingip=q.floating_ips,
                opts=pchild,
            )
            # the scoped provider is configured only once the operator may act in the project
            self.providers[p.name] = args.credentials.scoped_provider(
                f"{name}-{p.name}-scope",
                project_name=pname_full,
                region=args.region,
                opts=pulumi.ResourceOptions(parent=project, depends_on=[operator]),
            )
        self.register_outputs(
            {"projects": pulumi.Output.all(**{k: v.id for k, v in self.projects.items()})}
        )
