"""The policy pack's rules, called directly; and the program's own graph passes them."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import FIXTURES
from harness import run
from ruamel.yaml import YAML

from onecloud.iac import _guardrails as g

CASES = YAML(typ="safe").load((FIXTURES / "guardrails.yml").read_text(encoding="utf-8"))


def _res(d: dict[str, Any]) -> g.Res:
    return g.Res(
        type=d["type"], name=d["name"], urn=d["urn"], props=d["props"], deps=d.get("deps", {})
    )


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(case: dict[str, Any]) -> None:
    got = g.check_all(_res(r) for r in case["resources"])
    assert sorted((v.rule, v.system or "") for v in got) == sorted(
        (rule, system or "") for rule, system in case["violations"]
    ), [str(v) for v in got]


def test_violation_names_rule_and_system() -> None:
    v = g.Violation("no-world-open-rules", "fin-ledger", "ingress rule x is open")
    assert str(v) == "[no-world-open-rules] system fin-ledger: ingress rule x is open"
    assert str(g.Violation("resources-carry-labels", None, "m")).startswith(
        "[resources-carry-labels] landing zone:"
    )


@pytest.mark.parametrize("stack", ["lab", "province-admin"])
def test_program_graph_passes_every_guardrail(small_plan: Any, stack: str) -> None:
    spec = YAML(typ="safe").load((FIXTURES / "cases" / f"{stack}.yml").read_text(encoding="utf-8"))
    graph = run(small_plan, spec["config"], stack)
    resources = [
        g.Res(type=r.type, name=r.name, urn=r.urn, props=r.inputs, deps=r.property_deps)
        for r in graph.resources.values()
    ]
    assert [str(v) for v in g.check_all(resources)] == []


def test_program_graph_with_a_protected_system_without_dr_is_refused(small_plan: Any) -> None:
    systems = [
        s.model_copy(update={"dr_tier": "none"}) if s.id == "fin-ledger" else s
        for s in small_plan.systems
    ]
    plan = small_plan.model_copy(update={"systems": systems})
    graph = run(
        plan,
        {
            "openstack:cloud": "c",
            "onecloud:declare": ["network", "catalog", "tenancy", "workloads"],
            "onecloud:carries": ["*"],
        },
        "lab",
    )
    resources = [
        g.Res(type=r.type, name=r.name, urn=r.urn, props=r.inputs, deps=r.property_deps)
        for r in graph.resources.values()
    ]
    got = [(v.rule, v.system) for v in g.check_all(resources)]
    assert got == [("protected-systems-have-dr", "fin-ledger")]
