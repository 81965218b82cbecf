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
from dataclasses import dataclass, field

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
    admin = _admin(cfg)
    wired = _Wired()
    segments = _network(cfg, sel, admin, wired)
    image_id = _catalog(cfg, plan, sel, image_file, admin, wired)
    identity = _identity(cfg, admin) if cfg.has("tenancy") or cfg.has("dr") else None
    tenancy = None
    if cfg.has("tenancy") and identity is not None:
        tenancy = _tenancy(cfg, sel, credentials, identity, admin, wired)
    if cfg.has("workloads"):
        _workloads(cfg, sel, credentials, tenancy, segments, image_id, admin, wired)
    if cfg.has("dr") and identity is not None:
        _disaster_recovery(cfg, sel, credentials, identity, image_id, wired)
    return _export(wired.outputs)


@dataclass(frozen=True)
class _Admin:
    """The region's admin provider, as resource and invoke options."""

    opts: pulumi.ResourceOptions
    invoke: pulumi.InvokeOptions


def _admin(cfg: StackConfig) -> _Admin:
    admin = openstack.Provider("admin", cloud=cfg.cloud, region=cfg.region)
    return _Admin(
        opts=pulumi.ResourceOptions(providers={"openstack": admin}),
        invoke=pulumi.InvokeOptions(provider=admin),
    )


@dataclass
class _Wired:
    """What the components declared so far: the stack's outputs (exported at the end), and the
    components the workloads and DR depend on."""

    outputs: dict[str, pulumi.Output] = field(default_factory=dict)
    needs: list[pulumi.Resource] = field(default_factory=list)


def _network(
    cfg: StackConfig, sel: Selection, admin: _Admin, wired: _Wired
) -> dict[str, SegmentRef]:
    """The network segments: declared here, or read from the network stack."""
    if cfg.has("network"):
        net = NetworkSegments(
            "net",
            NetworkSegmentsArgs(
                segments=sel.segments,
                external_network=cfg.external_network,
                dhcp=cfg.dhcp,
                management_cidr=cfg.management_network,
            ),
            opts=admin.opts,
        )
        wired.outputs["segments"] = net.segments_output
        if net.management_output is not None:
            wired.outputs["management"] = net.management_output
        wired.needs.append(net)
        return net.refs
    if cfg.has("workloads"):
        assert cfg.network_stack is not None
        ref = pulumi.StackReference(cfg.network_stack)
        return refs_from_output(ref.get_output("segments"), sel.segments)
    return {}


def _catalog(
    cfg: StackConfig,
    plan: Plan,
    sel: Selection,
    image_file: str | None,
    admin: _Admin,
    wired: _Wired,
) -> pulumi.Input[str]:
    """The region's catalog (declared here, or its image looked up by name); the image id."""
    flavors = flavor_specs(plan)
    if cfg.has("catalog"):
        catalog = Catalog(
            "catalog",
            CatalogArgs(
                flavors=flavors,
                image_name=cfg.image.name,
                image_file=image_file,
                image_disk_format=cfg.image.disk_format,
            ),
            opts=admin.opts,
        )
        wired.outputs["image_id"] = catalog.image_id
        wired.outputs["flavors"] = pulumi.Output.from_input(sorted(catalog.flavors))
        wired.needs.append(catalog)
        _check_flavors(sel.systems, flavors)
        return catalog.image_id
    if cfg.has("workloads") or cfg.has("dr"):
        return openstack.images.get_image_output(
            name=cfg.image.name, most_recent=True, opts=admin.invoke
        ).id
    return ""


@dataclass(frozen=True)
class _Identity:
    """The operator (the user the stack runs as) and the roles tenancy and DR grant."""

    operator_user_id: pulumi.Input[str]
    operator_role_id: pulumi.Input[str]
    department_admin_role_id: pulumi.Input[str]


def _identity(cfg: StackConfig, admin: _Admin) -> _Identity:
    scope = openstack.identity.get_auth_scope_output(name="current", opts=admin.invoke)
    operator_role = openstack.identity.get_role_output(name=cfg.operator_role, opts=admin.invoke)
    admin_role = openstack.identity.get_role_output(
        name=cfg.department_admin_role, opts=admin.invoke
    )
    return _Identity(scope.user_id, operator_role.id, admin_role.id)


def _tenancy(
    cfg: StackConfig,
    sel: Selection,
    credentials: ScopeCredentials,
    identity: _Identity,
    admin: _Admin,
    wired: _Wired,
) -> Tenancy:
    """The departments' projects, their groups and role grants."""
    tenancy = Tenancy(
        "tenancy",
        TenancyArgs(
            projects=sel.projects,
            credentials=credentials,
            region=cfg.region,
            operator_user_id=identity.operator_user_id,
            operator_role_id=identity.operator_role_id,
            department_admin_role_id=identity.department_admin_role_id,
        ),
        opts=admin.opts,
    )
    wired.outputs["projects"] = pulumi.Output.all(**{k: v.id for k, v in tenancy.projects.items()})
    return tenancy


def _workloads(
    cfg: StackConfig,
    sel: Selection,
    credentials: ScopeCredentials,
    tenancy: Tenancy | None,
    segments: dict[str, SegmentRef],
    image_id: pulumi.Input[str],
    admin: _Admin,
    wired: _Wired,
) -> None:
    """The systems' servers, ports, volumes and security groups, in their projects."""
    network_prefixes = {k: pool_prefixes(sel.segments, k) for k in ("extranet", "intranet")}
    if tenancy is not None:
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
            depends_on=wired.needs,
        ),
        opts=admin.opts,
    )
    wired.outputs["systems"] = workloads.systems_output


def _disaster_recovery(
    cfg: StackConfig,
    sel: Selection,
    credentials: ScopeCredentials,
    identity: _Identity,
    image_id: pulumi.Input[str],
    wired: _Wired,
) -> None:
    """The DR region's standby networks, projects and servers (its own admin provider)."""
    dr_admin = openstack.Provider("dr-admin", cloud=cfg.cloud, region=cfg.dr.region)
    dr = DisasterRecovery(
        "dr",
        DisasterRecoveryArgs(
            systems=sel.systems,
            segments=sel.segments,
            projects=sel.projects,
            region=cfg.dr.region,
            credentials=credentials,
            operator_user_id=identity.operator_user_id,
            operator_role_id=identity.operator_role_id,
            department_admin_role_id=identity.department_admin_role_id,
            external_network=cfg.external_network,
            image_id=image_id,
            standby_tiers=cfg.dr.standby,
            addressing=cfg.dr.addressing,
            dhcp=cfg.dhcp,
            depends_on=wired.needs,
        ),
        opts=pulumi.ResourceOptions(providers={"openstack": dr_admin}),
    )
    wired.outputs["dr"] = dr.dr_output
    wired.outputs["dr_region"] = pulumi.Output.from_input(cfg.dr.region)


def _export(outputs: dict[str, pulumi.Output]) -> dict[str, pulumi.Output]:
    """Export the stack's outputs; returns them."""
    for k, v in outputs.items():
        pulumi.export(k, v)
    return outputs
