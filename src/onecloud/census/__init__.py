"""The census: what the province has, system by system (the single source of truth).

`load_census(directory)` reads `inventory/census/*.yml`, validates every file against the strict
models in `onecloud.census.models`, cross-checks references and raises one `CensusError` listing
every problem as `file:line: what is wrong; how to fix it`.
"""

from onecloud.census.loader import load_census
from onecloud.census.models import Census

__all__ = ["Census", "load_census"]
