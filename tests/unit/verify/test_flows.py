"""The network flows derived from the plan, and how probe results are classified."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from onecloud.iac._rules import flows_for, pool_prefixes
from onecloud.plan import Plan, load_plan
from onecloud.plan._models import PlannedSystem, Segment, Service, TargetServer
from onecloud.verify._flows import (
    PROBE_PORTS,
    Flow,
    derive_flows,
    ingress_rules,
    network_prefixes,
)
from onecloud.verify._netprobe import classify, flows_junit, probe_command, probe_flows

SAMPLE = Path(__file__).resolve().parents[3] / "inventory" / "plan.yml"
MGMT = ["198.18.0.0/15"]


@pytest.fixture(scope="module")
def sample() -> Plan:
    return load_plan(SAMPLE)


def _wave1(plan: Plan, **kw: Any) -> list[Flow]:
    return derive_flows(plan, [s.id for s in plan.wave_systems(1)], management_cidrs=MGMT, **kw)


def test_ingress_agrees_with_the_security_groups_iac_declares(sample: Plan) -> None:
    networks = {s.name: s.network for s in sample.segments}
    for s in sample.systems:
        if s.disposition != "migrate":
            continue
        net = networks[s.segment or ""]
        assert network_prefixes(sample, net) == pool_prefixes(sample.segments, net)
        iac = {
            (f.protocol, f.port_min, f.remote)
            for f in flows_for(s, net, pool_prefixes(sample.segments, net), MGMT)
            if f.direction == "ingress"
        }
        ours = {
            (r.protocol, r.port, r.remote)
            for r in ingress_rules(s, net, network_prefixes(sample, net), MGMT)
        }
        assert ours == iac, s.id


def test_sample_wave_1_flows(sample: Plan) -> None:
    flows = _wave1(sample)
    opened = {f.name for f in flows if f.expect == "open"}
    assert opened == {
        "civil-ledger-1 -> health-permits-1:5432",  # the dependency
        "civil-ledger-1 -> health-permits-1:8082",
        "civil-ledger-1 -> health-permits-1:22",  # ssh from management
        "health-permits-1 -> civil-ledger-1:8081",  # a service from its own network
        "health-permits-1 -> civil-ledger-1:22",
    }
    assert len(flows) == 42
    by = {f.name: f for f in flows}
    # extranet -> intranet on every declared port of the intranet systems
    for name in (
        "edu-portal-1 -> health-permits-1:5432",
        "edu-portal-1 -> health-permits-1:8082",
        "edu-portal-1 -> civil-ledger-1:8081",
    ):
        assert by[name].expect == "closed" and "no route joins" in by[name].why
    # cross-department on an undeclared port of the same network
    f = by["civil-ledger-1 -> health-permits-1:3306"]
    assert f.expect == "closed" and "cross-department (nanhai-civil -> health)" in f.why
    assert "depends on health-permits" in by["civil-ledger-1 -> health-permits-1:5432"].why
    # stable and without duplicates
    assert flows == _wave1(sample)
    keys = [(f.source_host, f.dest_host, f.port) for f in flows]
    assert len(keys) == len(set(keys))
    assert keys == sorted(
        keys, key=lambda k: (by[f"{k[0]} -> {k[1]}:{k[2]}"].dest_system, k[1], k[2], k[0])
    )


def test_internet_flows_only_with_an_address(sample: Plan) -> None:
    assert not [f for f in _wave1(sample) if f.dest_system == "internet"]
    net = [f for f in _wave1(sample, internet="203.0.113.10") if f.dest_system == "internet"]
    assert {(f.source_host, f.port, f.expect) for f in net} == {
        (h, p, "open" if h == "edu-portal-1" else "closed")
        for h in ("edu-portal-1", "civil-ledger-1", "health-permits-1")
        for p in (80, 443)
    }
    assert all(f.dest_address == "203.0.113.10" for f in net)


def test_floating_ips_are_probed_from_the_internets_host(sample: Plan) -> None:
    web = next(s for s in sample.wave_systems(1) if s.id == "edu-portal")
    public = {svc.port for svc in web.services if svc.public and svc.protocol == "tcp"}
    assert public, "the sample's extranet portal has a public service"
    outputs = {
        "edu-portal": {
            "targets": [
                {"name": "edu-portal-1", "address": "198.19.1.10", "floating_ip": "198.18.128.50"}
            ]
        }
    }
    internet = "203.0.113.10"  # outside the management CIDRs
    # an address alone: the internet is only a destination
    assert not [
        f
        for f in _wave1(sample, outputs=outputs, internet=internet)
        if f.dest_address == "198.18.128.50"
    ]
    flows = _wave1(sample, outputs=outputs, internet=internet, internet_host="lab-internet")
    inbound = [f for f in flows if f.source_host == "lab-internet"]
    assert {f.dest_address for f in inbound} == {"198.18.128.50"}
    assert all(f.source_address == internet and f.dest_system == "edu-portal" for f in inbound)
    assert {f.port for f in inbound} == public | set(PROBE_PORTS)
    assert {f.port for f in inbound if f.expect == "open"} == public
    ssh = next(f for f in inbound if f.port == 22)
    assert ssh.expect == "closed" and "not open to the internet" in ssh.why
    # nothing else changes
    rest = [f for f in flows if f.source_host != "lab-internet"]
    assert rest == _wave1(sample, outputs=outputs, internet=internet)


def test_stack_outputs_give_the_real_addresses(sample: Plan) -> None:
    outputs = {
        "health-permits": {"targets": [{"name": "health-permits-1", "address": "198.19.11.99"}]}
    }
    flows = _wave1(sample, outputs=outputs)
    dests = {f.dest_address for f in flows if f.dest_host == "health-permits-1"}
    assert dests == {"198.19.11.99"}


# -- fixtures of our own ---------------------------------------------------------------------
def _sys(sid: str, dept: str, seg: str, addr: str, ports: list[int], **kw: Any) -> PlannedSystem:
    return PlannedSystem(
        id=sid,
        name=sid,
        department=dept,
        disposition="migrate",
        reason="test",
        status="in_use",
        audience="internal",
        protection_level=2,
        segment=seg,
        wave=1,
        targets=[TargetServer(name=f"{sid}-1", address=addr, flavor="oc.small", volume_gb=0)],
        services=[Service(name=f"svc{p}", port=p) for p in ports],
        **kw,
    )


def _plan(*systems: PlannedSystem, mgmt_seg: bool = False) -> Plan:
    sample = load_plan(SAMPLE)
    segs = [
        Segment(
            name="ext", network="extranet", level="province", cidr="10.1.0.0/24", gateway="10.1.0.1"
        ),
        Segment(
            name="int-a",
            network="intranet",
            level="province",
            cidr="10.2.0.0/24",
            gateway="10.2.0.1",
        ),
        Segment(
            name="int-b", network="intranet", level="city", cidr="10.3.0.0/24", gateway="10.3.0.1"
        ),
    ]
    return sample.model_copy(update={"segments": segs, "systems": list(systems), "waves": []})


def test_fixture_rules() -> None:
    plan = _plan(
        _sys("web", "edu", "ext", "10.1.0.10", [443], floating_ip=True),
        _sys("app", "edu", "int-a", "10.2.0.10", [9000], depends_on=["db"]),
        _sys("db", "tax", "int-b", "10.3.0.10", [5432]),
        _sys("other", "tax", "int-b", "10.3.0.11", [7000]),
    )
    flows = derive_flows(plan, ["db"], management_cidrs=["10.3.0.11/32"])
    by = {f.name: f for f in flows}
    # the dependency's port from the dependent's server, across departments: allowed
    f = by["app-1 -> db-1:5432"]
    assert f.expect == "open" and "app depends on db" in f.why
    # the same port from the extranet: no route
    assert by["web-1 -> db-1:5432"].expect == "closed"
    # undeclared ports: closed, cross-department noted
    assert by["app-1 -> db-1:3306"].expect == "closed"
    assert "cross-department (edu -> tax)" in by["app-1 -> db-1:3306"].why
    assert "cross-department" not in by["other-1 -> db-1:3306"].why
    # ssh only from management: other-1 is, app-1 is not
    assert by["other-1 -> db-1:22"].expect == "open"
    assert by["app-1 -> db-1:22"].expect == "closed" and "management" in by["app-1 -> db-1:22"].why
    assert {f.port for f in flows if f.source_host == "app-1"} == set(PROBE_PORTS)
    # the selected system's own dependencies, from its servers
    flows = derive_flows(plan, ["app"])
    assert {f.name for f in flows if f.dest_system == "db"} == {"app-1 -> db-1:5432"}
    # a public extranet service: from the extranet only (no route from the intranet)
    plan2 = _plan(
        _sys("web", "edu", "ext", "10.1.0.10", [443]),
        _sys("web2", "gov", "ext", "10.1.0.11", [80]),
        _sys("app", "edu", "int-a", "10.2.0.10", [9000]),
    )
    pub = plan2.system("web").model_copy(
        update={"services": [Service(name="https", port=443, public=True)]}
    )
    plan2 = plan2.model_copy(update={"systems": [pub, *plan2.systems[1:]]})
    by = {f.name: f for f in derive_flows(plan2, ["web"])}
    assert by["web2-1 -> web-1:443"].expect == "open"
    assert "internet (public service)" in by["web2-1 -> web-1:443"].why
    assert by["app-1 -> web-1:443"].expect == "closed"


# -- probing, over a fake pool -----------------------------------------------------------------
@dataclass
class _Out:
    rc: int = 0
    stdout: str = ""
    stderr: str = ""


class _FakeHost:
    def __init__(self, answers: dict[str, tuple[int, str]] | None, fail: bool = False) -> None:
        self.answers = answers or {}
        self.fail = fail
        self.commands: list[str] = []

    def run(self, cmd: str) -> _Out:
        self.commands.append(cmd)
        if self.fail:
            raise RuntimeError("ssh: connect to host x port 22: Connection timed out")
        lines = []
        for i, part in enumerate(cmd.split("} &")[:-1]):  # the last: " wait"
            target = part.split("</dev/tcp/", 1)[1].split("'", 1)[0]
            rc, msg = self.answers.get(target, (1, "bash: connect: Connection refused"))
            if rc >= 0:
                lines.append(f"@flow {i} {rc} {msg}")
        return _Out(stdout="\n".join(lines) + "\n")


class _FakePool:
    def __init__(self, hosts: dict[str, _FakeHost]) -> None:
        self.hosts = hosts

    def get(self, name: str) -> _FakeHost:
        return self.hosts[name]


def _flow(src: str, port: int, expect: str, addr: str = "10.0.0.2") -> Flow:
    return Flow(src, "10.0.0.1", "d", "d-1", addr, port, expect, "test")  # type: ignore[arg-type]


def test_classify() -> None:
    assert classify(0, "") == ("open", "connected")
    assert classify(124, "")[0] == "closed"
    assert classify(1, "bash: connect: Connection refused")[0] == "closed"
    assert classify(1, "bash: connect: Network is unreachable")[0] == "closed"
    assert classify(1, "connect: No route to host")[0] == "closed"
    assert classify(127, "bash: timeout: command not found")[0] == "error"


def test_probe_results_one_session_per_host() -> None:
    a = _FakeHost({"10.0.0.2/80": (0, ""), "10.0.0.2/81": (124, ""), "10.0.0.2/83": (-1, "")})
    b = _FakeHost(None, fail=True)
    flows = [
        _flow("a", 80, "open"),
        _flow("a", 81, "closed"),
        _flow("b", 80, "open"),
        _flow("a", 82, "open"),
        _flow("a", 83, "closed"),
    ]
    results = probe_flows(flows, pool=_FakePool({"a": a, "b": b}))
    assert [r.flow for r in results] == flows
    assert len(a.commands) == 1 and len(b.commands) == 1
    got = [(r.observed, r.ok) for r in results]
    assert got == [
        ("open", True),
        ("closed", True),
        ("error", False),
        ("closed", False),  # refused: the flow does not work
        ("error", False),  # no answer for it
    ]
    assert results[3].verdict == "FAIL: closed, expected open"
    assert "cannot probe from b" in results[2].detail
    xml = flows_junit(results)
    assert 'tests="5" failures="1" errors="2"' in xml


def test_probe_command_quotes_and_refuses() -> None:
    cmd = probe_command([_flow("a", 80, "open")])
    assert "timeout 3 bash -c '</dev/tcp/10.0.0.2/80'" in cmd
    with pytest.raises(ValueError):
        probe_command([_flow("a", 80, "open", addr="10.0.0.2; rm -rf /")])
    with pytest.raises(ValueError):
        probe_command([_flow("a", 70000, "open")])
