from __future__ import annotations

import sys
from pathlib import Path

import pytest

from onecloud.plan._io import load_plan
from onecloud.plan._models import Plan

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "iac"
sys.path.insert(0, str(Path(__file__).parent))  # the harness module


@pytest.fixture(scope="session")
def small_plan() -> Plan:
    return load_plan(FIXTURES / "plan_small.yml")
