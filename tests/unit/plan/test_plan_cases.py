"""Data-driven plan cases: tests/fixtures/plan/<case>/ census in, expected plan excerpt out.

`expected.yml` holds either `error:` (lines the PlanError message must contain, in order) or an
excerpt of the plan: `systems` and `projects` keyed by id/name (each listed field must match),
and `waves`, `totals`, `renumbered`, `platforms` compared whole.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from census_cases import build, cases, read_yaml

from onecloud.census._loader import load_census
from onecloud.errors import PlanError
from onecloud.plan._build import Options, build_plan

CASES = cases("plan")


def _subset(expected: Any, actual: Any, where: str) -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict), where
        for key, value in expected.items():
            assert key in actual, f"{where}.{key} missing"
            _subset(value, actual[key], f"{where}.{key}")
    else:
        assert actual == expected, where


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_plan_case(case: Path, tmp_path: Path, monkeypatch) -> None:
    expected = read_yaml(case / "expected.yml")
    options = Options(**read_yaml(case / "case.yml").get("options", {}))
    census_dir = build(case, tmp_path)
    monkeypatch.chdir(tmp_path)
    census = load_census(census_dir.name)
    if "error" in expected:
        with pytest.raises(PlanError) as info:
            build_plan(census, options)
        lines = [ln.removeprefix("census/") for ln in info.value.message.splitlines()]
        assert lines == expected["error"]
        assert info.value.hint
        return
    plan = build_plan(census, options)
    dump = plan.model_dump(mode="json")
    actual = {
        "systems": {s["id"]: s for s in dump["systems"]},
        "projects": {p["name"]: p["quota"] for p in dump["projects"]},
        "waves": dump["waves"],
        "totals": dump["totals"],
        "renumbered": dump["renumbered"],
        "platforms": dump["platforms"],
    }
    assert set(actual["systems"]) == set(expected["systems"])  # no system lost or invented
    _subset(expected, actual, "plan")
    # the plan is a valid instance of the contract and round-trips through YAML
    from onecloud.plan._io import dump_plan, parse_plan

    assert parse_plan(dump_plan(plan)) == plan


def test_plan_is_deterministic(tmp_path: Path) -> None:
    from census_cases import BASE

    from onecloud.plan._io import dump_plan

    census = load_census(BASE)
    assert dump_plan(build_plan(census)) == dump_plan(build_plan(census))
