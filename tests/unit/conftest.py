from __future__ import annotations

import sys
from pathlib import Path

import pytest

from onecloud.contract import SystemSpec, build_spec, select_systems
from onecloud.plan import Plan, load_plan

#: the migration fixtures (a plan of the sample census) that contract, migrate and verify share
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "migrate"

# census_cases.py builds census directories for the data-driven cases (census, plan, cli tests)
sys.path.insert(0, str(Path(__file__).resolve().parent / "census"))


@pytest.fixture(scope="session")
def plan() -> Plan:
    return load_plan(FIXTURES / "plan.yml")


@pytest.fixture(scope="session")
def specs(plan: Plan) -> dict[str, SystemSpec]:
    return {s.id: build_spec(s, None) for s in select_systems(plan, wave=1)}
