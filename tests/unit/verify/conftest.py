from __future__ import annotations

from pathlib import Path

import pytest

from onecloud.migrate.spec import SystemSpec, build_spec, select_systems
from onecloud.plan.io import load_plan

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "migrate"


@pytest.fixture(scope="session")
def specs() -> dict[str, SystemSpec]:
    plan = load_plan(FIXTURES / "plan.yml")
    return {s.id: build_spec(s, None) for s in select_systems(plan, wave=1)}
