"""The lab's data plane for real, on the `lab` stack: servers are hosts on their own Neutron
ports, Neutron enforces the security groups, the controller comes in through the management
network only, and the network verification proves it.

The module brings the stack up with `onecloud stack up -s lab --yes` (what a user runs: it
reconciles the lab's hosts with the servers) and leaves it up, as the demo does. Every probed
port of every destination gets a listener, so a flow that must fail is refused by the network,
not by a missing service.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the helpers next to this file

from migratelab import ONECLOUD, lab_cloud_up, listen, ssh, unlisten

from onecloud import labcloud, paths
from onecloud.iac import stack_management_cidrs, systems_output
from onecloud.labcloud import INTERNET_HOST
from onecloud.labhosts import HostSpec, PortPlug, hosts_down, hosts_status, hosts_up
from onecloud.plan._io import load_plan
from onecloud.plan._models import Plan
from onecloud.verify import Flow, derive_flows
from onecloud.verify._flows import INTERNET

pytestmark = pytest.mark.integration

STACK = "lab"
STACK_FILE = paths.PROJECT_ROOT / "stacks" / f"Pulumi.{STACK}.yaml"
WAVE = 1


def _cli(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ONECLOUD, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "COLUMNS": "220"},
    )


@pytest.fixture(scope="module")
def settings() -> Any:
    lab_cloud_up()
    return labcloud.default_settings()


@pytest.fixture(scope="module")
def conn(settings: Any) -> Iterator[Any]:
    from onecloud.labcloud._dataplane import _connect

    c = _connect(settings)
    yield c
    c.close()


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan(paths.PROJECT_ROOT / "inventory" / "plan.yml")


@pytest.fixture(scope="module")
def outputs(settings: Any) -> dict[str, Any]:
    """`onecloud stack up -s lab --yes`: the stack, its servers' hosts, the controller."""
    r = _cli("stack", "up", "-s", STACK, "--yes")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    out = systems_output(STACK)
    assert out, "the lab stack has no systems output"
    return out


def _targets(outputs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for s in outputs.values() for t in s["targets"]}


def _wait_ports(conn: Any, ids: list[str], timeout: float = 60) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        st = {p.id: p.status for p in conn.network.ports() if p.id in set(ids)}
        if (len(st) == len(ids) and all(v == "ACTIVE" for v in st.values())) or (
            time.monotonic() > deadline
        ):
            return st
        time.sleep(1)


def test_every_server_is_a_host_on_its_own_active_port(conn: Any, outputs: dict[str, Any]) -> None:
    targets = _targets(outputs)
    hosts = {h.name: h for h in hosts_status()}
    for name, t in targets.items():
        h = hosts.get(name)
        assert h is not None, f"server {name} has no lab host"
        assert h.port_id == t["port_id"], (name, h.port_id, t["port_id"])
        assert h.reachable and h.address.split("/")[0] == t["address"], (name, h.detail)
    assert set(_wait_ports(conn, [t["port_id"] for t in targets.values()]).values()) == {"ACTIVE"}
    # the controller reaches them through the management network, not the lab's bridge
    for t in targets.values():
        route = subprocess.run(
            ["ip", "-4", "route", "get", t["address"]], capture_output=True, text=True, check=True
        ).stdout
        assert " dev oclmgmt0 " in route, route


def _fresh(plan: Plan) -> None:
    """Wave 1's legacy and target hosts as `onecloud lab up` makes them: seeded, unmigrated."""
    names = [h.id for s in plan.wave_systems(WAVE) for h in s.sources]
    names += [t.name for s in plan.wave_systems(WAVE) for t in s.targets]
    hosts_down(names)
    r = _cli("lab", "up")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert {h.name for h in hosts_status() if h.reachable} >= set(names)


@pytest.fixture(scope="module")
def fresh(plan: Plan, outputs: dict[str, Any]) -> Iterator[None]:
    """Wave 1's hosts fresh; fresh again at the end of the module, so the demo and later tests
    find them as `lab up` leaves them."""
    _fresh(plan)
    yield
    _fresh(plan)


def test_a_closed_copy_path_is_refused_before_anything_changes(
    fresh: None, plan: Plan, tmp_path: Path
) -> None:
    """The copy path cut on the controller (tcp/22 from the legacy bridge dropped): the
    pre-flight names each source that cannot reach its target's SSH, nothing is copied or
    stopped, and the sources still serve."""
    from onecloud.labcloud._dataplane import FWD_CHAIN

    rule = ["-p", "tcp", "--dport", "22", "-j", "DROP"]
    subprocess.run(["iptables", "-I", FWD_CHAIN, "1", *rule], check=True)
    try:
        r = _cli("migrate", "--wave", str(WAVE), "--ledger", str(tmp_path / "ledger.sqlite"))
    finally:
        subprocess.run(["iptables", "-D", FWD_CHAIN, *rule], check=True)
    assert r.returncode == 6, r.stdout[-3000:] + r.stderr[-3000:]
    out = " ".join((r.stdout + r.stderr).split())
    for s in plan.wave_systems(WAVE):
        for src in s.sources:
            assert src.id in out, src.id
        for t in s.targets:
            assert f"cannot reach the target's SSH at {t.address}:22" in out, t.address
    for s in plan.wave_systems(WAVE):
        for src in s.sources:
            for svc in s.services:
                if svc.health_path:
                    assert ssh(src.id, f"service {svc.name} status").returncode == 0, svc.name


@pytest.fixture(scope="module")
def migrated(plan: Plan, fresh: None, tmp_path_factory: Any) -> Path:
    """Wave 1 migrated onto the servers' own ports (a ledger of its own)."""
    ledger = tmp_path_factory.mktemp("dataplane") / "ledger.sqlite"
    t0 = time.monotonic()
    r = _cli("migrate", "--wave", str(WAVE), "--ledger", str(ledger), timeout=1200)
    assert r.returncode == 0, r.stdout[-5000:] + r.stderr[-3000:]
    print(f"migration of wave {WAVE} onto the data plane: {time.monotonic() - t0:.1f} s")
    return ledger


def test_migration_lands_on_the_servers_own_ports(
    migrated: Path, plan: Plan, outputs: dict[str, Any]
) -> None:
    """The copy path (legacy host -> controller -> router -> server, tcp/22 only) carried the
    data; testinfra proves every migrated system on its target."""
    r = _cli("verify", "--wave", str(WAVE), "--ledger", str(migrated))
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "migrated" in r.stdout and "checks passed" in r.stdout
    hosts = {h.name: h for h in hosts_status()}
    for t in _targets(outputs).values():
        assert hosts[t["name"]].port_id == t["port_id"]


@pytest.fixture(scope="module")
def listening(plan: Plan, outputs: dict[str, Any], migrated: Path) -> Iterator[list[Flow]]:
    """The wave's flows (as `verify --network` derives them) once the wave is migrated: every
    probed port listened on, by the migrated services or by a listener of the test."""
    mgmt = stack_management_cidrs(STACK)
    internet = next(h for h in hosts_status() if h.name == INTERNET_HOST)
    assert internet.reachable and internet.role == "internet", internet.detail
    flows = derive_flows(
        plan,
        [s.id for s in plan.wave_systems(WAVE)],
        outputs=outputs,
        management_cidrs=mgmt,
        internet=internet.address.split("/")[0],
        internet_host=INTERNET_HOST,
    )
    by_dest: dict[str, set[int]] = {}
    for f in flows:
        if f.dest_host != INTERNET:  # the internet's host answers 80 and 443 itself
            by_dest.setdefault(f.dest_host, set()).add(f.port)
    for host, ports in by_dest.items():
        listen(host, sorted(ports))
    yield flows
    for host in by_dest:
        unlisten(host)


def _verify(tmp_path: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """`onecloud verify --network --wave 1 --junit`: the run and testcase name -> failure."""
    junit = tmp_path / f"network-{time.monotonic_ns()}.xml"
    r = _cli(
        "verify", "--network", "--wave", str(WAVE), "--internet", INTERNET_HOST,
        "--junit", str(junit), *extra,
    )  # fmt: skip
    cases = {}
    if junit.exists():
        for case in ET.parse(junit).getroot().iter("testcase"):
            fail = case.find("failure")
            cases[case.get("name", "")] = None if fail is None else fail.get("message")
    return r, cases


def test_network_verification_passes_and_means_it(
    listening: list[Flow], plan: Plan, tmp_path: Path
) -> None:
    flows = listening
    networks = {s.name: s.network for s in plan.segments}
    net_of = {s.id: networks[s.segment] for s in plan.systems if s.segment in networks}
    src_net = {t.name: net_of[s.id] for s in plan.systems if s.id in net_of for t in s.targets}
    egress = {(src_net[f.source_host], f.expect) for f in flows if f.dest_host == INTERNET}
    fip = [f for f in flows if f.source_host == INTERNET_HOST]
    flows_in = [f for f in flows if f.dest_host != INTERNET and f not in fip]
    cross = [f for f in flows_in if src_net[f.source_host] != net_of[f.dest_system]]
    undeclared = [f for f in flows_in if f.expect == "closed" and f not in cross]
    must_work = [f for f in flows_in if f.expect == "open"]
    # the flows cover what the issue names: extranet <-> intranet on every probed port, ports
    # no system declares, and each system's declared ports from its declared sources
    assert cross and all(f.expect == "closed" for f in cross)
    assert {f.port for f in cross} >= {22, 5432, 8080, 8081, 8082}
    assert undeclared and must_work
    # one egress: the extranet reaches the internet, the intranet never
    assert egress == {("extranet", "open"), ("intranet", "closed")}
    # public systems from the internet through their floating IP, on their public ports only
    assert {f.expect for f in fip} == {"open", "closed"}
    assert all(net_of[f.dest_system] == "extranet" for f in fip)

    r, cases = _verify(tmp_path)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert len(cases) == len(flows) and all(v is None for v in cases.values()), cases
    assert f"{len(flows)}/{len(flows)} flows as expected" in r.stdout


def test_ebtables_bug_does_not_stall_the_agent(
    settings: Any, conn: Any, outputs: dict[str, Any], tmp_path: Path
) -> None:
    """Restart the linuxbridge agent with live ports (it sets every device up again, deleting
    its `--among-src` rules: the ebtables-nft bug of docs/lab.md), update a port, plug a new
    one, delete it: every port goes (and stays) ACTIVE and the agent logs no failed delete."""
    from onecloud.labcloud import _lifecycle, _procs

    live = [t["port_id"] for t in _targets(outputs).values()]
    agent = _lifecycle._records(settings)["neutron-linuxbridge-agent"]
    log = Path(agent.logfile)
    _procs.stop([agent])
    mark = log.stat().st_size if log.exists() else 0
    labcloud.up(settings)  # restarts what is down
    restarted = _lifecycle._records(settings)["neutron-linuxbridge-agent"]
    assert restarted.pid != agent.pid

    # a port update: the agent re-applies its filters for the device
    port = conn.network.update_port(live[0], description="touched by test_dataplane")
    assert port.description == "touched by test_dataplane"

    # a new port on a segment network, plugged as a server's would be
    # a new port beside a server's, in its project and security groups (ssh from management)
    beside = conn.network.get_port(live[0])
    net_id = beside.network_id
    new = conn.network.create_port(
        network_id=net_id,
        project_id=beside.project_id,
        security_group_ids=beside.security_group_ids,
        name="onecloud-itest-dataplane",
        device_owner="compute:nova",
        binding_host_id="lab-compute-1",
    )
    name = "itest-dp-new"
    ip = new.fixed_ips[0]
    prefix = conn.network.get_subnet(ip["subnet_id"]).cidr.split("/")[1]
    try:
        spec = HostSpec(
            name=name,
            address=f"{ip['ip_address']}/{prefix}",
            role="target",
            port=PortPlug(new.id, new.mac_address, net_id),
        )
        hosts_up([spec])
        st = _wait_ports(conn, [*live, new.id], timeout=90)
        assert set(st.values()) == {"ACTIVE"}, st
    finally:
        hosts_down([name])
        conn.network.delete_port(new.id)
    # the rest stays wired after the delete
    time.sleep(3)
    assert set(_wait_ports(conn, live).values()) == {"ACTIVE"}
    since = log.read_text(errors="replace")[mark:]
    assert "RULE_DELETE failed" not in since
    assert "Error in agent loop" not in since


def test_a_world_open_rule_is_blocked_by_policy_and_caught_by_verification(
    listening: list[Flow], tmp_path: Path
) -> None:
    """The rule-flip: a stack config change opens SSH to the world on every server (intranet
    included). The guardrails refuse it; with `--no-policy` it goes through, and the network
    verification (against the declared management network) sees the opening: the intranet's
    ssh-only-from-management flows flip to FAIL. Restored, they pass again."""
    declared = stack_management_cidrs(STACK)
    ssh_only = [f for f in listening if f.port == 22 and f.expect == "closed"]
    assert ssh_only, "no flow proves ssh is refused from outside the management network"
    original = STACK_FILE.read_text(encoding="utf-8")
    line = "  onecloud:managementCidrs: [198.18.144.0/24]\n"
    assert line in original
    try:
        STACK_FILE.write_text(
            original.replace(line, "  onecloud:managementCidrs: [198.18.144.0/24, 0.0.0.0/0]\n"),
            encoding="utf-8",
        )
        blocked = _cli("stack", "up", "-s", STACK, "--yes")
        assert blocked.returncode != 0
        assert "no-world-open-rules" in blocked.stdout + blocked.stderr

        opened = _cli("stack", "up", "-s", STACK, "--yes", "--no-policy")
        assert opened.returncode == 0, opened.stdout[-3000:] + opened.stderr[-2000:]
        time.sleep(5)  # Neutron's iptables follow the API within seconds
        mgmt = [a for c in declared for a in ("--management-cidr", c)]
        r, cases = _verify(tmp_path, *mgmt)
        assert r.returncode == 7, r.stdout[-4000:]
        failed = {k for k, v in cases.items() if v is not None}
        flipped = {f"{f.name} expect closed" for f in ssh_only} & failed
        assert flipped, (sorted(failed), [f.name for f in ssh_only])
        assert all("observed open, expected closed" in cases[k] for k in failed), cases
    finally:
        STACK_FILE.write_text(original, encoding="utf-8")
        restored = _cli("stack", "up", "-s", STACK, "--yes")
    assert restored.returncode == 0, restored.stdout[-3000:]
    time.sleep(5)
    r, cases = _verify(tmp_path)
    assert r.returncode == 0, r.stdout[-4000:]
    assert all(v is None for v in cases.values())
