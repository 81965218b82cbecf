"""Unit tests of the planner's rules, one concern each."""

from __future__ import annotations

import pytest

from onecloud.plan import _dr as dr
from onecloud.plan._addressing import Pool, allocate, overlapping_networks, reserve
from onecloud.plan._flavors import STANDARD, fit
from onecloud.plan._placement import LEVELS, SegmentIndex
from onecloud.plan._waves import Item, assign, components


@pytest.mark.parametrize(
    ("rpo", "rto", "level", "tier"),
    [
        (5, None, 1, "hot"),  # RPO <= 15 min
        (None, None, 3, "hot"),  # MLPS 3
        (240, None, 2, "warm"),  # RPO <= 4 h
        (None, 120, 2, "warm"),  # RTO <= 4 h
        (None, None, 1, "none"),  # level 1 without objectives
        (1440, 2880, 1, "none"),  # level 1, a day or looser
        (None, None, 2, "backup"),
        (600, 1440, 1, "backup"),  # level 1 but RPO tighter than a day
    ],
)
def test_dr_tier(rpo: int | None, rto: int | None, level: int, tier: str) -> None:
    assert dr.dr_tier(rpo, rto, level)[0] == tier


def test_flavor_fit_picks_smallest() -> None:
    flavors = list(STANDARD)
    assert fit(flavors, 1, 2048)[0].name == "oc.small"
    assert fit(flavors, 1, 2049)[0].name == "oc.medium"
    assert fit(flavors, 3, 1024)[0].name == "oc.large"
    assert fit(flavors, 64, 1024) == (flavors[-1], False)


def test_pool_reserves_gateway_and_first_addresses() -> None:
    pool = Pool("10.0.0.0/28", "10.0.0.1")
    assert [pool.take() for _ in range(4)] == ["10.0.0.12", "10.0.0.13", "10.0.0.14", None]
    assert pool.capacity == 3


def test_allocation_keeps_previous_addresses() -> None:
    pools = {"s": Pool("10.0.0.0/24", "10.0.0.1")}
    requests = [("s", "a-1"), ("s", "b-1"), ("s", "c-1")]
    # b-1 had .40, c-1 had an address outside the segment: only b-1 keeps its address
    got, full = allocate(pools, requests, {"b-1": ("s", "10.0.0.40"), "c-1": ("s", "10.9.9.9")})
    assert got == {"a-1": "10.0.0.12", "b-1": "10.0.0.40", "c-1": "10.0.0.13"}
    assert full == []


def test_legacy_host_addresses_are_never_handed_out() -> None:
    pools = {"a": Pool("10.0.0.0/24", "10.0.0.1"), "b": Pool("10.0.1.0/24", "10.0.1.1")}
    # .12 and .40 of segment a still run legacy hosts; 10.9.9.9 is in no segment
    reserve(pools, ["10.0.0.12", "10.0.0.40", "10.9.9.9", "10.0.0.12"])
    assert pools["a"].reserved == 2 and pools["b"].reserved == 0
    requests = [("a", "x-1"), ("a", "y-1"), ("b", "z-1")]
    # y-1 had .40 in the previous plan: that address is now a running legacy host's
    got, full = allocate(pools, requests, {"y-1": ("a", "10.0.0.40")})
    assert got == {"x-1": "10.0.0.13", "y-1": "10.0.0.14", "z-1": "10.0.1.12"}
    assert full == []


def test_allocation_reports_full_segments() -> None:
    pools = {"s": Pool("10.0.0.0/28", "10.0.0.1")}
    _, full = allocate(pools, [("s", f"x-{i}") for i in range(5)], {})
    assert full == ["s"]


def test_segment_index_falls_back_up_to_city_only() -> None:
    from onecloud.census._models import SegmentSpec

    segs = [
        SegmentSpec(name="i-prov", network="intranet", level="province", cidr="10.0.0.0/24"),
        SegmentSpec(name="i-city", network="intranet", level="city", cidr="10.0.1.0/24"),
        SegmentSpec(
            name="i-city-b", network="intranet", level="city", city="b", cidr="10.0.2.0/24"
        ),
    ]
    idx = SegmentIndex(segs)
    assert idx.find("intranet", "township", "a") == "i-city"
    assert idx.find("intranet", "county", "b") == "i-city-b"  # the city's own segment first
    assert idx.find("intranet", "province", None) == "i-prov"
    assert SegmentIndex(segs[:1]).find("intranet", "city", "a") is None  # never the province's
    assert LEVELS[0] == "province"


def test_overlapping_networks_sweep() -> None:
    from onecloud.census._models import PrivateNetwork

    def net(i: str, *cidrs: str) -> PrivateNetwork:
        return PrivateNetwork(id=i, department="d", cidrs=list(cidrs), classification="intranet")

    got = overlapping_networks(
        [net("a", "10.0.0.0/8"), net("b", "10.5.0.0/16", "192.168.1.0/24"), net("c", "11.0.0.0/8")]
    )
    assert got == [("a", "10.0.0.0/8", ["b"]), ("b", "10.5.0.0/16", ["a"])]


def test_tarjan_finds_cycles() -> None:
    # 0 -> 1 -> 2 -> 0 (cycle), 3 -> 0, 4 alone
    comp, n = components(5, [[1], [2], [0], [0], []])
    assert n == 3
    assert comp[0] == comp[1] == comp[2]
    assert comp[3] > comp[0]  # dependants complete after their dependencies


def test_waves_handle_a_deep_chain_without_recursion() -> None:
    n = 50_000  # deeper than Python's recursion limit
    items = [Item(f"s{i:05d}", (f"s{i - 1:05d}",) if i else (), 0.0, None) for i in range(n)]
    waves = assign(items, 40_000, 1e9)
    assert [len(w.systems) for w in waves] == [40_000, 10_000]


def test_waves_order_by_effective_deadline() -> None:
    # late-deadline "lib" is needed by the urgent "app": lib goes first, then app, then "other"
    items = [
        Item("app", ("lib",), 1.0, "2027-01-01"),
        Item("lib", (), 1.0, "2027-12-01"),
        Item("other", (), 1.0, "2027-06-01"),
    ]
    waves = assign(items, 1, 100.0)
    assert [w.systems for w in waves] == [["lib"], ["app"], ["other"]]


def test_waves_respect_the_data_bound() -> None:
    items = [Item(f"s{i}", (), 600.0, None) for i in range(5)]
    waves = assign(items, 40, 2000.0)
    assert [len(w.systems) for w in waves] == [3, 2]
    assert all(not w.notes for w in waves)
