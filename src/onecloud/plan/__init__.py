"""The plan: pure functions from the census to `onecloud.plan.models.Plan`, and its file.

`build_plan(census)` derives it; `load_plan(path)` reads `inventory/plan.yml` for the other parts.
"""

from onecloud.plan.build import Options, build_plan
from onecloud.plan.io import dump_plan, load_plan, write_plan
from onecloud.plan.models import Plan

__all__ = ["Options", "Plan", "build_plan", "dump_plan", "load_plan", "write_plan"]
