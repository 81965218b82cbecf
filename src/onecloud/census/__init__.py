"""The census: what the province has, system by system (the single source of truth).

`load_census(directory)` reads `inventory/census/*.yml`, validates every file against the strict
models, cross-checks references and raises one `CensusError` listing every problem as
`file:line: what is wrong; how to fix it`. `write_census` generates a census of any size.
"""

from onecloud.census._generate import GeneratorSpec, write_census
from onecloud.census._loader import load_census
from onecloud.census._models import (
    Census,
    Department,
    Host,
    PrivateNetwork,
    SegmentSpec,
    System,
    Usage,
)
from onecloud.census._perf import gc_paused
from onecloud.census._yamlsource import FastResolver

__all__ = [
    "Census",
    "Department",
    "FastResolver",
    "GeneratorSpec",
    "Host",
    "PrivateNetwork",
    "SegmentSpec",
    "System",
    "Usage",
    "gc_paused",
    "load_census",
    "write_census",
]
