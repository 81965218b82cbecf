"""The census: what the province has, system by system (the single source of truth).

`load_census(directory)` reads `inventory/census/*.yml`, validates every file against the strict
models in `onecloud.census.models`, cross-checks references and raises one `CensusError` listing
every problem as `file:line: what is wrong; how to fix it`.

Imports are lazy so that `onecloud --help` does not load pydantic and ruamel.yaml.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from onecloud.census.loader import load_census
    from onecloud.census.models import Census

__all__ = ["Census", "load_census"]


def __getattr__(name: str) -> Any:
    if name == "load_census":
        from onecloud.census.loader import load_census

        return load_census
    if name == "Census":
        from onecloud.census.models import Census

        return Census
    raise AttributeError(name)
