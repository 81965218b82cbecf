from __future__ import annotations

from pathlib import Path

import pytest

from onecloud.migrate.spec import SystemSpec, build_spec, select_systems
from onecloud.plan.io import load_plan
from onecloud.plan.models import Plan

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "migrate"


@pytest.fixture(scope="session")
def plan() -> Plan:
    return load_plan(FIXTURES / "plan.yml")


@pytest.fixture(scope="session")
def specs(plan: Plan) -> dict[str, SystemSpec]:
    return {s.id: build_spec(s, None) for s in select_systems(plan, wave=1)}
