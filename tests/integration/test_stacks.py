"""The lab stack for real: `pulumi up` through the toolchain, openstacksdk checks, destroy.

Runs on the lab cloud (brought up if needed; fails, never skips, when it cannot come up). Every
expectation is derived from the plan the stack reads (inventory/plan.yml). The module ends with
`pulumi destroy` and proves nothing is left behind; if the stack had resources before the test
(e.g. the demo's), it is brought back up afterwards so other parts find it as they left it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the helpers next to this file

from migratelab import itest_down, lab_cloud_up

from onecloud import paths
from onecloud.iac._config import load_stack_config
from onecloud.iac._program import flavor_specs, select
from onecloud.iac._rules import flows_for, pool_prefixes
from onecloud.plan._io import load_plan
from onecloud.plan._models import Plan

pytestmark = pytest.mark.integration

STACK = "lab"


@pytest.fixture(scope="module")
def clouds_yaml() -> Path:
    return lab_cloud_up()


@pytest.fixture(scope="module")
def runner(clouds_yaml: Path) -> Any:
    from onecloud.iac import StackCli

    return StackCli({"OS_CLIENT_CONFIG_FILE": str(clouds_yaml)})


@pytest.fixture(scope="module")
def cfg() -> Any:
    from ruamel.yaml import YAML

    path = paths.PROJECT_ROOT / "stacks" / f"Pulumi.{STACK}.yaml"
    raw = YAML(typ="safe").load(path.read_text(encoding="utf-8"))["config"]
    import json

    return load_stack_config(
        {k: v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}, STACK, path
    )


@pytest.fixture(scope="module")
def plan(cfg: Any) -> Plan:
    return load_plan(paths.PROJECT_ROOT / cfg.plan)


@pytest.fixture(scope="module")
def admin(clouds_yaml: Path) -> Iterator[Any]:
    import openstack
    from openstack.config import loader

    config = loader.OpenStackConfig(config_files=[str(clouds_yaml)], load_envvars=False)
    conn = openstack.connection.Connection(config=config.get_one(cloud="onecloud-lab"))
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def had_resources(runner: Any) -> bool:
    return runner.resource_count(STACK) > 0


@pytest.fixture(scope="module")
def up(runner: Any, had_resources: bool) -> dict[str, Any]:
    """`onecloud stack up -s lab --yes` (with the guardrails), then the stack's outputs."""
    run = runner.up(STACK, yes=True)
    assert run.ok, f"pulumi up failed (exit {run.returncode})"
    return runner.outputs(STACK)


def _project(admin: Any, name: str) -> Any:
    found = list(admin.identity.projects(name=name))
    assert len(found) == 1, f"project {name}: {len(found)} found"
    return found[0]


def test_projects_hierarchy_and_labels(
    admin: Any, plan: Plan, cfg: Any, up: dict[str, Any]
) -> None:
    for p in select(cfg, plan).projects:
        project = _project(admin, p.name)
        where = "province" if p.level == "province" else f"city-{p.city}"
        parent = _project(admin, f"{p.cloud}-{where}")
        assert project.parent_id == parent.id
        assert f"department={p.department}" in project.tags
        assert up["projects"][p.name] == project.id


def test_quotas_are_the_plans(admin: Any, plan: Plan, cfg: Any, up: dict[str, Any]) -> None:
    for p in select(cfg, plan).projects:
        pid = up["projects"][p.name]
        compute = admin.compute.get_quota_set(pid)
        assert (compute.instances, compute.cores, compute.ram) == (
            p.quota.instances,
            p.quota.cores,
            p.quota.ram_mb,
        ), p.name
        volume = admin.block_storage.get_quota_set(pid)
        assert (volume.volumes, volume.gigabytes) == (p.quota.volumes, p.quota.gigabytes), p.name
        network = admin.network.get_quota(pid)
        assert network.floating_ips == p.quota.floating_ips, p.name


def test_networks_subnets_and_routers(admin: Any, plan: Plan, up: dict[str, Any]) -> None:
    """One shared network per segment (its own bridge in the lab), one subnet pool and router
    per e-government network, and the management network on both routers."""
    public = admin.network.find_network("public")
    for kind in ("extranet", "intranet"):
        pool = admin.network.find_subnet_pool(f"onecloud-{kind}")
        assert sorted(pool.prefixes) == pool_prefixes(plan.segments, kind)
        router = admin.network.find_router(f"onecloud-{kind}")
        gateway = (router.external_gateway_info or {}).get("network_id")
        # consolidated egress on the extranet only; no internet path from the intranet
        assert gateway == (public.id if kind == "extranet" else None), kind
        ports = list(
            admin.network.ports(device_id=router.id, device_owner="network:router_interface")
        )
        attached = {ip["subnet_id"] for p in ports for ip in p.fixed_ips}
        for seg in (s for s in plan.segments if s.network == kind):
            out = up["segments"][seg.name]
            net = admin.network.get_network(out["network_id"])
            assert net.name == seg.name and net.is_shared and not net.is_router_external
            subnet = admin.network.get_subnet(out["subnet_id"])
            assert (subnet.cidr, subnet.gateway_ip, subnet.network_id) == (
                seg.cidr,
                seg.gateway,
                net.id,
            )
            assert subnet.subnet_pool_id == pool.id
            assert subnet.id in attached, f"{seg.name} is not on its router"
    management = admin.network.find_network("onecloud-management")
    assert management is not None and up["management"]["network_id"] == management.id
    on_it = {
        p.device_id
        for p in admin.network.ports(network_id=management.id)
        if p.device_owner == "network:router_interface"
    }
    assert on_it == {
        admin.network.find_router(f"onecloud-{k}").id for k in ("extranet", "intranet")
    }


def _rule_key(r: Any) -> tuple[Any, ...]:
    return (r.direction, r.protocol, r.port_range_min, r.port_range_max, r.remote_ip_prefix)


def test_security_groups_are_default_deny_with_written_flows(
    admin: Any, plan: Plan, cfg: Any, up: dict[str, Any]
) -> None:
    for s in select(cfg, plan).systems:
        seg = next(x for x in plan.segments if x.name == s.segment)
        sg = admin.network.find_security_group(f"sg-{s.id}", project_id=up["projects"][s.project])
        assert sg is not None, s.id
        want = {
            (f.direction, f.protocol, f.port_min, f.port_max, f.remote)
            for f in flows_for(
                s, seg.network, pool_prefixes(plan.segments, seg.network), cfg.management_cidrs
            )
        }
        got = {_rule_key(r) for r in admin.network.security_group_rules(security_group_id=sg.id)}
        assert got == want, s.id


def _wait_active(admin: Any, server_id: str, timeout: float = 180) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        server = admin.compute.get_server(server_id)
        if server.status == "ACTIVE" or time.monotonic() > deadline:
            return server
        time.sleep(3)


def test_servers_active_at_planned_addresses_with_volumes(
    admin: Any, plan: Plan, cfg: Any, up: dict[str, Any]
) -> None:
    flavors = {f.name for f in flavor_specs(plan)}
    for s in select(cfg, plan).systems:
        out = up["systems"][s.id]
        assert (out["segment"], out["project"]) == (s.segment, s.project)
        subnet_id = up["segments"][s.segment]["subnet_id"]
        for t, o in zip(s.targets, out["targets"], strict=True):
            assert (o["name"], o["address"]) == (t.name, t.address)
            server = _wait_active(admin, o["server_id"])
            assert server.status == "ACTIVE", f"{t.name}: {server.status}"
            assert server.project_id == up["projects"][s.project]
            assert server.flavor.name == t.flavor and t.flavor in flavors
            port = admin.network.get_port(o["port_id"])
            assert port.fixed_ips == [{"subnet_id": subnet_id, "ip_address": t.address}]
            assert port.device_id == server.id
            volumes = [
                v for v in admin.block_storage.volumes(all_projects=True, name=f"{t.name}-data")
            ]
            if t.volume_gb:
                assert len(volumes) == 1 and volumes[0].size == t.volume_gb, t.name
                assert [a["server_id"] for a in volumes[0].attachments] == [server.id]
            else:
                assert volumes == []
            if s.floating_ip:
                fip = admin.network.find_ip(o["floating_ip"])
                assert fip is not None and fip.port_id == port.id
            else:
                assert o["floating_ip"] is None


def test_dr_centre_mirrors_protected_systems(
    admin: Any, plan: Plan, cfg: Any, up: dict[str, Any]
) -> None:
    protected = [s for s in select(cfg, plan).systems if s.dr_tier != "none"]
    assert sorted(up["dr"]) == sorted(s.id for s in protected)
    for s in protected:
        entry = up["dr"][s.id]
        _project(admin, f"dr-{s.project}")
        standby = entry["standby"]
        if s.dr_tier in ("hot", "warm"):
            assert [x["address"] for x in standby] == [t.address for t in s.targets]
        for x in standby:
            if s.dr_tier in cfg.dr.standby:
                assert _wait_active(admin, x["server_id"]).status == "ACTIVE"
            else:
                assert x["server_id"] is None


def test_preview_right_after_up_shows_no_changes(runner: Any, up: dict[str, Any]) -> None:
    assert runner.preview(STACK, expect_no_changes=True).ok


def test_guardrails_stop_a_bad_plan_before_anything_changes(
    runner: Any, cfg: Any, plan: Plan, tmp_path: Path
) -> None:
    """A plan that drops a protected system's DR and gives an intranet system a public IP."""
    from onecloud.plan._io import dump_plan

    protected = next(
        s for s in plan.systems if s.disposition == "migrate" and s.protection_level >= 3
    )
    intranet = next(
        s
        for s in plan.systems
        if s.disposition == "migrate"
        and s.segment
        and "intranet" in s.segment
        and s.id != protected.id
    )
    bad = plan.model_copy(
        update={
            "systems": [
                s.model_copy(update={"dr_tier": "none"})
                if s.id == protected.id
                else s.model_copy(update={"floating_ip": True})
                if s.id == intranet.id
                else s
                for s in plan.systems
            ]
        }
    )
    plan_file = tmp_path / "bad-plan.yml"
    plan_file.write_text(dump_plan(bad), encoding="utf-8")
    stack = "itest-guardrails"
    stack_file = paths.PROJECT_ROOT / "stacks" / f"Pulumi.{stack}.yaml"
    stack_file.write_text(
        "# written by tests/integration/test_stacks.py; removed when it ends\n"
        "config:\n"
        f"  openstack:cloud: {cfg.cloud}\n"
        f"  onecloud:plan: {plan_file}\n"
        "  onecloud:declare: [network, catalog, tenancy, workloads]\n"
        '  onecloud:carries: ["*"]\n'
        "  onecloud:image: {name: onecloud-base, file: null}\n",
        encoding="utf-8",
    )
    try:
        runner.select(stack)
        run = runner.run(
            ["preview", "--stack", stack, "--non-interactive", *runner._policy(True)], capture=True
        )
        assert not run.ok
        assert f"[protected-systems-have-dr] system {protected.id}" in run.stdout, run.stdout[
            -2000:
        ]
        assert f"[intranet-stays-off-extranet] system {intranet.id}" in run.stdout, run.stdout[
            -2000:
        ]
    finally:
        runner.run(["stack", "rm", "--yes", "--force", "--stack", stack], capture=True)
        stack_file.unlink(missing_ok=True)


def test_destroy_leaves_nothing_behind(
    runner: Any, admin: Any, plan: Plan, cfg: Any, up: dict[str, Any], had_resources: bool
) -> None:
    from onecloud.cli._labhosts import reconcile_if_lab, release_if_lab

    sel = select(cfg, plan)
    itest_down()  # the migration tests' servers sit on the lab stack's networks
    # this machine leaves the management network first, as `onecloud stack destroy` does (its
    # port would keep the subnet from being deleted)
    release_if_lab(STACK)
    # data volumes are protected: an operator unprotects on purpose (documented in docs/stacks.md)
    assert runner.destroy(STACK, yes=True, unprotect=True).ok
    assert runner.resource_count(STACK) == 0
    names = {p.name for p in sel.projects} | {f"dr-{p.name}" for p in sel.projects}
    assert [p.name for p in admin.identity.projects() if p.name in names] == []
    segments = {seg.name for seg in plan.segments}
    assert [
        n.name
        for n in admin.network.networks()
        if n.name.startswith(("onecloud-", "dr-")) or n.name in segments
    ] == []
    # the stack's ports and the controller's; the lab's internet is the lab's own
    assert [
        p.name
        for p in admin.network.ports()
        if p.name.startswith("onecloud-") and p.name != "onecloud-lab-internet"
    ] == []
    assert [
        r.name for r in admin.network.routers() if r.name.startswith(("onecloud-", "dr-"))
    ] == []
    assert [
        p.name for p in admin.network.subnet_pools() if p.name.startswith(("onecloud-", "dr-"))
    ] == []
    targets = {t.name for s in sel.systems for t in s.targets}
    servers = [s.name for s in admin.compute.servers(all_projects=True)]
    assert [n for n in servers if n in targets or n.removeprefix("dr-") in targets] == []
    assert [
        v.name for v in admin.block_storage.volumes(all_projects=True) if v.name.endswith("-data")
    ] == []
    assert [f.name for f in admin.compute.flavors() if f.name.startswith("oc.")] == []
    assert [g.name for g in admin.network.security_groups() if g.name.startswith("sg-")] == []
    assert reconcile_if_lab(STACK) is not None  # the servers' hosts go with them
    from onecloud.labhosts import hosts_status

    assert [h.name for h in hosts_status() if h.port_id] == []
    if had_resources:  # leave the stack as we found it (the demo and migrations use it)
        assert runner.up(STACK, yes=True).ok
        reconcile_if_lab(STACK)
