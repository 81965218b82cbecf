"""The plan: pure functions from the census to a `Plan`, and its file.

`build_plan(census)` derives it; `load_plan(path)` reads `inventory/plan.yml` for the other
parts; `write_plan` writes it atomically; `render_rich`/`render_markdown` show it.
"""

from onecloud.plan._build import Options, build_plan
from onecloud.plan._io import dump_plan, load_plan, parse_plan, write_plan
from onecloud.plan._models import (
    Flavor,
    Plan,
    PlannedSystem,
    ProjectPlan,
    Segment,
    TargetServer,
)
from onecloud.plan._report import render_markdown, render_rich

__all__ = [
    "Flavor",
    "Options",
    "Plan",
    "PlannedSystem",
    "ProjectPlan",
    "Segment",
    "TargetServer",
    "build_plan",
    "dump_plan",
    "load_plan",
    "parse_plan",
    "render_markdown",
    "render_rich",
    "write_plan",
]
