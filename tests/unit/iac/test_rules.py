"""Flows and pools: what the security groups and subnet pools are made of."""

from __future__ import annotations

from typing import Any

from onecloud.iac._rules import WORLD, flows_for, pool_prefixes
from onecloud.iac._tags import labels, parse_tags, to_metadata, to_tags


def test_pool_prefixes_collapse_each_network(small_plan: Any) -> None:
    assert pool_prefixes(small_plan.segments, "extranet") == ["198.19.0.0/23"]
    assert pool_prefixes(small_plan.segments, "intranet") == ["198.19.16.0/23"]


def test_public_service_of_extranet_system_is_open_to_the_world(small_plan: Any) -> None:
    flows = flows_for(
        small_plan.system("edu-portal"), "extranet", ["198.19.0.0/23"], ["198.18.0.0/15"]
    )
    world = sorted((f.direction, f.port_min) for f in flows if f.remote == WORLD)
    assert world == [("egress", 80), ("egress", 443), ("ingress", 8080)]


def test_intranet_system_never_talks_to_the_world(small_plan: Any) -> None:
    flows = flows_for(
        small_plan.system("fin-ledger"), "intranet", ["198.19.16.0/23"], ["198.18.0.0/15"]
    )
    assert all(f.remote != WORLD for f in flows)
    ingress = sorted((f.protocol, f.port_min, f.remote) for f in flows if f.direction == "ingress")
    assert ingress == [
        ("icmp", None, "198.18.0.0/15"),
        ("tcp", 22, "198.18.0.0/15"),
        ("tcp", 5432, "198.19.16.0/23"),
        ("tcp", 8443, "198.19.16.0/23"),
    ]
    assert len({f.key for f in flows}) == len(flows)


def test_public_flag_on_an_intranet_system_does_not_open_it(small_plan: Any) -> None:
    s = small_plan.system("fin-ledger")
    svc = s.services[0].model_copy(update={"public": True})
    flows = flows_for(s.model_copy(update={"services": [svc]}), "intranet", ["198.19.16.0/23"], [])
    assert all(f.remote != WORLD for f in flows)


def test_tags_round_trip() -> None:
    pairs = labels("edu", "edu-portal", zone="extranet", mlps=2, dr=None)
    assert to_tags(pairs) == [
        "department=edu",
        "mlps=2",
        "onecloud",
        "system=edu-portal",
        "zone=extranet",
    ]
    assert parse_tags(to_tags(pairs)) == pairs
    assert parse_tags(metadata=to_metadata(pairs)) == pairs
