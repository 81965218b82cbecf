"""Lab host specs: validation, address math and kernel object names (pure)."""

from __future__ import annotations

import ipaddress

import pytest

from onecloud.errors import UsageError
from onecloud.labhosts._model import (
    DEFAULT_DISK_MB,
    HostSpec,
    bridge_name,
    gateway_of,
    gateways,
    health_ports,
    lab_tag,
    netns_name,
    netns_prefix,
    spec_problems,
    validate,
    veth_name,
)


def test_gateway_is_first_usable_address_of_the_subnet() -> None:
    assert str(gateway_of(ipaddress.IPv4Interface("198.18.0.11/24"))) == "198.18.0.1/24"
    assert str(gateway_of(ipaddress.IPv4Interface("198.19.1.23/24"))) == "198.19.1.1/24"
    assert str(gateway_of(ipaddress.IPv4Interface("198.19.7.200/20"))) == "198.19.0.1/20"


def test_one_gateway_per_distinct_subnet() -> None:
    specs = [
        HostSpec("a", "198.18.0.11/24"),
        HostSpec("b", "198.18.0.12/24"),
        HostSpec("c", "198.19.1.23/24", role="target"),
    ]
    assert {str(g) for g in gateways(specs)} == {"198.18.0.1/24", "198.19.1.1/24"}


def test_veth_names_fit_the_kernel_limit_and_differ() -> None:
    names = [f"department-{i}-very-long-host-name-for-testing" for i in range(200)]
    veths = {veth_name(n) for n in names}
    assert len(veths) == len(names)
    assert all(len(v) <= 15 for v in veths)
    assert veth_name("edu-web-01") == veth_name("edu-web-01")
    assert netns_name("edu-web-01") == "ocl-edu-web-01"


def test_a_lab_in_another_dir_gets_kernel_objects_of_its_own() -> None:
    assert lab_tag("/var/lib/onecloud-lab") == lab_tag("/var/lib/onecloud-lab/") == ""
    assert bridge_name(lab_tag("/var/lib/onecloud-lab")) == "oclbr0"
    tag = lab_tag("/tmp/onecloud-bench-x")
    assert len(tag) == 6 and tag != lab_tag("/tmp/onecloud-bench-y")
    assert bridge_name(tag) == f"oclbr{tag}" and len(bridge_name(tag)) <= 15
    assert netns_name("a", tag) == f"ocl{tag}-a"
    assert not netns_name("a", tag).startswith(netns_prefix(""))
    assert veth_name("a", tag) != veth_name("a")


def test_spec_defaults() -> None:
    spec = HostSpec("edu-web-01", "198.18.0.11/24")
    assert spec.role == "legacy"
    assert spec.ip == "198.18.0.11"
    assert spec.srv_mb == DEFAULT_DISK_MB
    assert HostSpec("x", "198.18.0.11/24", disk_mb=64).srv_mb == 64


def test_health_ports_follow_the_workload_catalog() -> None:
    spec = HostSpec("h", "198.18.0.11/24", workloads=("webapp", "sqlite", "postgresql"))
    assert health_ports(spec) == {"webapp": 8080, "ledgerapp": 8081, "permitsapp": 8082}
    assert health_ports(HostSpec("t", "198.19.1.2/24", role="target")) == {}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (HostSpec("Bad_Name", "198.18.0.11/24"), "not a valid host name"),
        (HostSpec("-x", "198.18.0.11/24"), "not a valid host name"),
        (HostSpec("h", "10.0.0.5/24"), "outside the lab network 198.18.0.0/15"),
        (HostSpec("h", "198.18.0.11"), "has no prefix"),
        (HostSpec("h", "not-an-ip/24"), "is not an IPv4 address"),
        (HostSpec("h", "198.18.0.0/24"), "network or broadcast"),
        (HostSpec("h", "198.18.0.255/24"), "network or broadcast"),
        (HostSpec("h", "198.18.0.1/24"), "is the lab gateway"),
        (HostSpec("h", "198.18.0.1/31"), "no room for a gateway"),
        (HostSpec("h", "198.18.0.11/24", role="cloud"), "valid roles: legacy, target"),
        (
            HostSpec("h", "198.18.0.11/24", workloads=("mysql",)),
            "valid workloads: internet, postgresql",
        ),
        (HostSpec("h", "198.18.0.11/24", workloads=("webapp", "webapp")), "repeat"),
        (HostSpec("h", "198.18.0.11/24", disk_mb=1), "at least 16"),
    ],
)
def test_bad_specs_are_explained(spec: HostSpec, expected: str) -> None:
    problems = spec_problems(spec)
    assert problems, spec
    assert expected in " ".join(problems)
    with pytest.raises(UsageError, match="invalid lab host specs"):
        validate([spec])


def test_good_specs_pass() -> None:
    validate(
        [
            HostSpec("edu-web-01", "198.18.0.11/24", workloads=("webapp",)),
            HostSpec("edu-db-01", "198.18.0.12/24", workloads=("postgresql",)),
            HostSpec("edu-web-01-new", "198.19.1.23/24", role="target", disk_mb=128),
        ]
    )


def test_duplicates_and_clashes_with_running_hosts() -> None:
    with pytest.raises(UsageError, match="listed twice"):
        validate([HostSpec("a", "198.18.0.11/24"), HostSpec("a", "198.18.0.12/24")])
    with pytest.raises(UsageError, match="already used by 'a'"):
        validate([HostSpec("a", "198.18.0.11/24"), HostSpec("b", "198.18.0.11/24")])
    running = {"old": HostSpec("old", "198.18.0.11/24")}
    with pytest.raises(UsageError, match="already used by 'old'"):
        validate([HostSpec("new", "198.18.0.11/24")], running)
    # the same name replaces itself: no clash with its own old address
    validate([HostSpec("old", "198.18.0.11/24")], {})


def test_overlapping_subnets_are_refused() -> None:
    with pytest.raises(UsageError, match="overlap"):
        validate([HostSpec("a", "198.18.0.11/24"), HostSpec("b", "198.18.0.12/16")])
    with pytest.raises(UsageError, match="overlap"):
        validate([HostSpec("a", "198.18.0.11/24")], {"b": HostSpec("b", "198.18.1.12/16")})
