"""Flavors: the standard sizes and the smallest that fits a legacy host."""

from __future__ import annotations

from onecloud.census import Census
from onecloud.plan._models import Flavor

STANDARD = (
    Flavor(name="oc.small", vcpus=1, ram_mb=2048, disk_gb=20),
    Flavor(name="oc.medium", vcpus=2, ram_mb=4096, disk_gb=40),
    Flavor(name="oc.large", vcpus=4, ram_mb=8192, disk_gb=80),
    Flavor(name="oc.xlarge", vcpus=8, ram_mb=16384, disk_gb=160),
    Flavor(name="oc.2xlarge", vcpus=16, ram_mb=32768, disk_gb=320),
)


def catalogue(census: Census) -> list[Flavor]:
    """The census's flavors (sites.yml `flavors`) or the standard ones, smallest first."""
    if census.sites.flavors:
        flavors = [
            Flavor(name=f.name, vcpus=f.vcpus, ram_mb=f.ram_mb, disk_gb=f.disk_gb)
            for f in census.sites.flavors
        ]
    else:
        flavors = list(STANDARD)
    return sorted(flavors, key=lambda f: (f.vcpus, f.ram_mb, f.disk_gb, f.name))


def fit(flavors: list[Flavor], cpus: int, memory_mb: int) -> tuple[Flavor, bool]:
    """The smallest flavor with at least `cpus` and `memory_mb`; (largest, False) if none fits."""
    for f in flavors:
        if f.vcpus >= cpus and f.ram_mb >= memory_mb:
            return f, True
    return flavors[-1], False
