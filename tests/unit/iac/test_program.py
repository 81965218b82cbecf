"""The resource graph each stack declares from the small plan, under Pulumi's mocks.

Cases live in tests/fixtures/iac/cases/*.yml: a stack name and its config in; the count of
resources per type, chosen resources (type, parent, provider, protect, input subset), names that
must not be declared, and stack outputs out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES
from harness import Graph, run
from ruamel.yaml import YAML

CASES = sorted((FIXTURES / "cases").glob("*.yml"))


def _load(path: Path) -> dict[str, Any]:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def _subset(expected: Any, actual: Any, where: str) -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected a mapping, got {actual!r}"
        for k, v in expected.items():
            assert k in actual, f"{where}: missing {k!r} (has {sorted(actual)})"
            _subset(v, actual[k], f"{where}.{k}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{where}: {actual!r}"
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            _subset(e, a, f"{where}[{i}]")
    elif isinstance(expected, int | float) and not isinstance(expected, bool):
        assert actual == expected, f"{where}: expected {expected!r}, got {actual!r}"
    else:
        assert actual == expected, f"{where}: expected {expected!r}, got {actual!r}"


def _path(data: Any, dotted: str) -> Any:
    """`a.b.0.c` into nested dicts and lists; keys may contain dots only as whole keys."""
    cur = data
    parts = dotted.split(".")
    i = 0
    while i < len(parts):
        # the longest key that exists (segment and flavor names may contain dots)
        for j in range(len(parts), i, -1):
            key = ".".join(parts[i:j])
            if isinstance(cur, dict) and key in cur:
                cur, i = cur[key], j
                break
            if isinstance(cur, list) and j == i + 1 and key.isdigit():
                cur, i = cur[int(key)], j
                break
        else:
            raise KeyError(f"{dotted}: no {parts[i]!r} in {cur!r}")
    return cur


@pytest.fixture(scope="module", params=CASES, ids=[c.stem for c in CASES])
def case(request: pytest.FixtureRequest, small_plan: Any) -> tuple[dict[str, Any], Graph]:
    spec = _load(request.param)
    return spec, run(small_plan, spec["config"], spec["stack"])


def test_counts(case: tuple[dict[str, Any], Graph]) -> None:
    spec, graph = case
    counts = graph.counts()
    for type_, n in spec["counts"].items():
        assert counts.get(type_, 0) == n, f"{type_}: expected {n}, declared {counts.get(type_, 0)}"


def test_resources(case: tuple[dict[str, Any], Graph]) -> None:
    spec, graph = case
    for name, want in (spec.get("resources") or {}).items():
        assert name in graph.resources, f"{name} not declared"
        got = graph.resources[name]
        assert got.type == want["type"], name
        if "parent" in want:
            assert got.parent == want["parent"], f"{name}: parent {got.parent}"
        if "provider" in want:
            assert got.provider == want["provider"], f"{name}: provider {got.provider}"
        assert got.protect == want.get("protect", False), f"{name}: protect {got.protect}"
        _subset(want.get("inputs", {}), got.inputs, name)
        for absent in want.get("absent_inputs", []):
            assert absent not in got.inputs, f"{name}: must not set {absent}"
        for dep in want.get("depends_on", []):
            assert dep in got.depends_on, f"{name}: does not depend on {dep}"
    for name in spec.get("absent", []):
        assert name not in graph.resources, f"{name} must not be declared"


def test_outputs(case: tuple[dict[str, Any], Graph]) -> None:
    spec, graph = case
    for dotted, want in (spec.get("outputs") or {}).items():
        _subset(want, _path(graph.outputs, dotted), dotted)
    for key in spec.get("absent_outputs", []):
        assert key not in graph.outputs


def test_every_custom_resource_has_a_component_parent_or_is_a_provider(
    case: tuple[dict[str, Any], Graph],
) -> None:
    """Nothing floats at the stack's root but components, providers and stack references."""
    _, graph = case
    for r in graph.resources.values():
        if r.parent is None:
            assert r.type.startswith(("onecloud:iac:", "pulumi:")), (
                f"{r.name} ({r.type}) has no parent"
            )
