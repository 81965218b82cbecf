"""The lab's ebtables wrapper: which deletes it rewrites, and how it finds the rule's number."""

from __future__ import annotations

import importlib.util
from importlib import resources
from types import ModuleType

import pytest


@pytest.fixture(scope="module")
def wrapper() -> ModuleType:
    path = resources.files("onecloud.labcloud") / "templates" / "ebtables_wrapper.py"
    spec = importlib.util.spec_from_file_location("ebtables_wrapper", str(path))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# what `ebtables-nft -t nat -L CHAIN --Ln` printed on Debian 12 (1.8.9) for two rules
LISTING = """Bridge table: nat

Bridge chain: neutronMAC-tap402aa7b6-e7, entries: 2, policy: DROP
1 -i tap402aa7b6-e7 --among-src fa:16:3e:0:a:1,fa:16:3e:1:2:3 -j RETURN
2 -p ARP -i tap402aa7b6-e7 --arp-ip-src 198.19.1.5 -j ACCEPT
"""


def test_a_delete_with_an_among_list_is_split_into_options_chain_and_rule(
    wrapper: ModuleType,
) -> None:
    argv = ["-t", "nat", "--concurrent", "-D", "neutronMAC-tapX", "-i", "tapX"]
    argv += ["--among-src", "fa:16:3e:00:0a:01,", "-j", "RETURN"]
    assert wrapper.split_delete(argv) == (
        ["-t", "nat", "--concurrent"],
        "neutronMAC-tapX",
        ["-i", "tapX", "--among-src", "fa:16:3e:00:0a:01,", "-j", "RETURN"],
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["-t", "nat", "-D", "PREROUTING", "-i", "tapX", "-j", "neutronARP-tapX", "-p", "ARP"],
        ["-t", "nat", "-D", "neutronMAC-tapX", "1"],
        ["-t", "nat", "-L"],
        ["-t", "nat", "-A", "c", "--among-src", "fa:16:3e:00:00:01", "-j", "RETURN"],
    ],
)
def test_everything_else_passes_through(wrapper: ModuleType, argv: list[str]) -> None:
    assert wrapper.split_delete(argv) is None


def test_the_rule_is_found_with_leading_zeros_trailing_comma_and_another_order(
    wrapper: ModuleType,
) -> None:
    rule = ["-i", "tap402aa7b6-e7", "--among-src", "FA:16:3E:01:02:03,fa:16:3e:00:0a:01,"]
    assert wrapper.rule_number(LISTING, [*rule, "-j", "RETURN"]) == 1
    arp = ["-p", "ARP", "-i", "tap402aa7b6-e7", "--arp-ip-src", "198.19.1.5", "-j", "ACCEPT"]
    assert wrapper.rule_number(LISTING, arp) == 2


def test_a_rule_that_differs_in_one_value_or_target_is_not_found(wrapper: ModuleType) -> None:
    rule = ["-i", "tap402aa7b6-e7", "--among-src", "fa:16:3e:00:0a:01"]
    assert wrapper.rule_number(LISTING, [*rule, "-j", "RETURN"]) is None  # one MAC short
    both = "fa:16:3e:00:0a:01,fa:16:3e:01:02:03"
    assert wrapper.rule_number(LISTING, ["-i", "tap402aa7b6-e7", "--among-src", both]) is None
    other = ["-i", "tapother", "--among-src", both, "-j", "RETURN"]
    assert wrapper.rule_number(LISTING, other) is None
