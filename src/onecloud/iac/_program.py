"""What a stack declares, from its validated config and the plan: the wiring of the components.

`select` is pure (which systems, projects and segments a stack carries); `declare` builds the
components and exports the outputs other parts read:

- `systems`: {system_id: {"targets": [{"name", "address", "port_id", "server_id",
  "floating_ip"}], "segment", "network", "project", "department", "wave", "dr_tier"}}
  (the migration runner renders its inventory from it);
- `segments`: {segment: {"network", "cidr", "network_id", "subnet_id"}} (workload stacks read
  it through a StackReference);
- `projects`: {project: id}; `image_id`; `dr`: {system_id: {"tier", "project", "segment",
  "rpo_minutes", "rto_minutes", "standby": [...]}} (a DR drill reads it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_openstack as openstack

from onecloud import paths
from onecloud.errors import PlanError
from onecloud.iac._config import StackConfig
from onecloud.iac._credentials import ScopeCredentials
from onecloud.iac._rules import pool_prefixes
from onecloud.iac.components._catalog import STANDARD_FLAVORS, Catalog, CatalogArgs, FlavorSpec
from onecloud.iac.components._dr import DisasterRecovery, DisasterRecoveryArgs
from onecloud.iac.components._network import (
    NetworkSegments,
    NetworkSegmentsArgs,
    SegmentRef,
    refs_from_output,
)
from onecloud.iac.components._tenancy import Tenancy, TenancyArgs
from onecloud.iac.components._workloads import Workloads, WorkloadsArgs
from onecloud.plan import Plan, PlannedSystem, ProjectPlan, Segment

__all__ = ["Selection", "declare", "flavor_specs", "select"]


@dataclass(frozen=True)
class Selection:
    systems: list[PlannedSystem]
    projects: list[ProjectPlan]
    segments: list[Segment]


def select(cfg: StackConfig, plan: Plan) -> Selection:
    """The plan's part this stack carries. Raises PlanError for systems the plan left unplaced."""
    systems = sorted(
        (
            s
            for s in plan.systems
            if s.disposition == "migrate" and cfg.carries_system(s.stack) and cfg.in_waves(s.wave)
        ),
        key=lambda s: s.id,
    )
    seg_names = {s.name for s in plan.segments}
    proj_names = {p.name for p in plan.projects}
    problems = []
    for s in systems:
        if s.segment not in seg_names:
            problems.append(
                f"system {s.id}: segment {s.segment!r} is not among the plan's segments"
            )
        if s.project not in proj_names:
            problems.append(
                f"system {s.id}: project {s.project!r} is not among the plan's projects"
            )
        if not s.targets:
            problems.append(f"system {s.id}: no target servers")
    if problems:
        raise PlanError(
            f"{cfg.plan or paths.plan_file()}: the plan cannot be declared by stack {cfg.stack}: "
            + "; ".join(problems),
            hint="regenerate the plan from the census (onecloud plan) and review it",
        )
    scope = cfg.tenancy
    wanted = {s.project for s in systems}
    projects = sorted(
        (
            p
            for p in plan.projects
            if p.name in wanted
            or (
                p.cloud in scope.clouds
                and p.level in scope.levels
                and (p.level == "province" or not scope.cities or p.city in scope.cities)
            )
        ),
        key=lambda p: p.name,
    )
    return Selection(systems, projects, sorted(plan.segments, key=lambda s: s.name))


def flavor_specs(plan: Plan) -> list[FlavorSpec]:
    """The plan's flavor catalogue when it has one, else the standard flavors."""
    flavors = getattr(plan, "flavors", None)
    if not flavors:
        return list(STANDARD_FLAVORS)
    return [FlavorSpec(f.name, f.vcpus, f.ram_mb, f.disk_gb) for f in flavors]


def _check_flavors(systems: Sequence[PlannedSystem], flavors: Sequence[FlavorSpec]) -> None:
    names = {f.name for f in flavors}
    bad = sorted(
        {f"{s.id}: {t.flavor}" for s in systems for t in s.targets if t.flavor not in names}
    )
    if bad:
        raise PlanError(
            "target servers ask for flavors the catalog does not declare: " + ", ".join(bad),
            hint="valid flavors: " + ", ".join(sorted(names)),
        )


def declare(
    cfg: StackConfig, plan: Plan, credentials: ScopeCredentials, image_file: str | None
) -> dict[str, pulumi.Output]:
    """Declare the stack's resources; returns (and exports) its outputs."""
    sel = select(cfg, plan)
    admin = openstack.Provider("admin", cloud=cfg.cloud, region=cfg.region)
    admin_opts = pulumi.ResourceOptions(providers={"openstack": admin})
    invoke = pulumi.InvokeOptions(provider=admin)
    outputs: dict[str, pulumi.Output] = {}
    needs: list[pulumi.Resource] = []

    # network segments: here, or from the network stack
    segments: dict[str, SegmentRef]
    if cfg.has("network"):
        net = NetworkSegments(
            "net",
            NetworkSegmentsArgs(
                segments=sel.segments, external_network=cfg.external_network, dhcp=cfg.dhcp
            ),
            opts=admin_opts,
        )
        segments = net.refs
        outputs["segments"] = net.segments_output
        needs.append(net)
    elif cfg.has("workloads"):
        assert cfg.network_stack is not None
        ref = pulumi.StackReference(cfg.network_stack)
        segments = refs_from_output(ref.get_output("segments"), sel.segments)
    else:
        segments = {}

    # the region's catalog: here, or looked up by name
    flavors = flavor_specs(plan)
    image_id: pulumi.Input[str]
    if cfg.has("catalog"):
        catalog = Catalog(
            "catalog",
            CatalogArgs(
                flavors=flavors,
                image_name=cfg.image.name,
                image_file=image_file,
                image_disk_format=cfg.image.disk_format,
            ),
            opts=admin_opts,
        )
        image_id = catalog.image_id
        outputs["image_id"] = catalog.image_id
        outputs["flavors"] = pulumi.Output.from_input(sorted(catalog.flavors))
        needs.append(catalog)
        _check_flavors(sel.systems, flavors)
    elif cfg.has("workloads") or cfg.has("dr"):
        image_id = openstack.images.get_image_output(
            name=cfg.image.name, most_recent=True, opts=invoke
        ).id
    else:
        image_id = ""

    if cfg.has("tenancy") or cfg.has("dr"):
        scope = openstack.identity.get_auth_scope_output(name="current", opts=invoke)
        operator_role = openstack.identity.get_role_output(name=cfg.operator_role, opts=invoke)
        admin_role = openstack.identity.get_role_output(name=cfg.department_admin_role, opts=invoke)

    if cfg.has("tenancy"):
        tenancy = Tenancy(
            "tenancy",
            TenancyArgs(
                projects=sel.projects,
                credentials=credentials,
                region=cfg.region,
                operator_user_id=scope.user_id,
                operator_role_id=operator_role.id,
                department_admin_role_id=admin_role.id,
            ),
            opts=admin_opts,
        )
        outputs["projects"] = pulumi.Output.all(**{k: v.id for k, v in tenancy.projects.items()})

    network_prefixes = {k: pool_prefixes(sel.segments, k) for k in ("extranet", "intranet")}
    if cfg.has("workloads"):
        if cfg.has("tenancy"):
            providers: dict[str, openstack.Provider] = dict(tenancy.providers)
        else:
            # the projects belong to another stack (e.g. a big cloud's workloads split by
            # waves): scope providers to them by name
            providers = {
                p: credentials.scoped_provider(
                    f"scope-{p}", project_name=p, region=cfg.region, opts=pulumi.ResourceOptions()
                )
                for p in sorted({str(s.project) for s in sel.systems})
            }
        workloads = Workloads(
            "workloads",
            WorkloadsArgs(
                systems=sel.systems,
                segments=segments,
                providers=providers,
                image_id=image_id,
                external_network=cfg.external_network,
                network_prefixes=network_prefixes,
                management_cidrs=cfg.management_cidrs,
                volume_type=cfg.volume_type,
                protect_volumes=cfg.protect_volumes,
                depends_on=needs,
            ),
            opts=admin_opts,
        )
        outputs["systems"] = workloads.systems_output

    if cfg.has("dr"):
        dr_admin = openstack.Provider("dr-admin", cloud=cfg.cloud, region=cfg.dr.region)
        dr = DisasterRecovery(
            "dr",
            DisasterRecoveryArgs(
                systems=sel.systems,
                segments=sel.segments,
                projects=sel.projects,
                region=cfg.dr.region,
                credentials=credentials,
                operator_user_id=scope.user_id,
                operator_role_id=operator_role.id,
                department_admin_role_id=admin_role.id,
                external_network=cfg.external_network,
                image_id=image_id,
                standby_tiers=cfg.dr.standby,
                addressing=cfg.dr.addressing,
                dhcp=cfg.dhcp,
                depends_on=needs,
            ),
            opts=pulumi.ResourceOptions(providers={"openstack": dr_admin}),
        )
        outputs["dr"] = dr.dr_output
        outputs["dr_region"] = pulumi.Output.from_input(cfg.dr.region)

    for k, v in outputs.items():
        pulumi.export(k, v)
    return outputs
