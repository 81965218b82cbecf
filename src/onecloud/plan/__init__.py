"""The plan: pure functions from the census to `onecloud.plan.models.Plan`, and its file.

`build_plan(census)` derives it; `load_plan(path)` reads `inventory/plan.yml` for the other parts.
Imports are lazy so that `onecloud --help` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from onecloud.plan.build import Options, build_plan
    from onecloud.plan.io import dump_plan, load_plan, write_plan
    from onecloud.plan.models import Plan

__all__ = ["Options", "Plan", "build_plan", "dump_plan", "load_plan", "write_plan"]

_WHERE = {
    "Options": "build",
    "build_plan": "build",
    "dump_plan": "io",
    "load_plan": "io",
    "write_plan": "io",
    "Plan": "models",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"onecloud.plan.{_WHERE[name]}"), name)
    raise AttributeError(name)
