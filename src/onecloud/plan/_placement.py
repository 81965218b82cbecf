"""Placement: which cloud, e-government network segment, project and stack a system lands on.

- audience public -> public-service cloud, else administrative-service cloud;
- MLPS level >= 3, or a private network classified intranet -> intranet (never extranet);
  the extranet only for systems serving the public at level <= 2 on extranet-class networks;
  other internal work -> intranet;
- province departments -> the province cloud; city, county and township departments -> their
  city's cloud; the segment is the one of the department's level (or the nearest level above)
  and city;
- project `<cloud>-<province|city>-<department>`; stack from sites.yml `stack` or derived.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from onecloud.census import Census, Department, SegmentSpec, System

LEVELS = ("province", "city", "county", "township")


@dataclass(frozen=True)
class Placement:
    cloud: str
    level: str  # province | city
    city: str | None
    network: str  # intranet | extranet
    segment: str | None
    project: str
    stack: str
    reason: str


def network_kind(system: System, classes: AbstractSet[str]) -> tuple[str, str]:
    """(intranet|extranet, why)."""
    if system.protection_level >= 3:
        return "intranet", f"MLPS level {system.protection_level} stays off the extranet"
    if "intranet" in classes:
        return "intranet", "its private network folds into the intranet"
    if system.audience == "public":
        return "extranet", "serves the public at MLPS level <= 2 (extranet public-service domain)"
    return "intranet", "internal government work belongs on the intranet"


class SegmentIndex:
    """Find the segment for (network, level, city): exact city first, then any city, going up."""

    def __init__(self, segments: list[SegmentSpec]) -> None:
        self._by: dict[tuple[str, str, str | None], str] = {}
        for s in sorted(segments, key=lambda s: s.name):
            self._by.setdefault((s.network, s.level, s.city), s.name)

    def find(self, network: str, level: str, city: str | None) -> str | None:
        """Segment of the department's level, else the nearest level above it.

        A province department only lands on province segments; city, county and township
        departments land on their city cloud, so their search stops at city level.
        """
        top = 0 if level == "province" else 1
        for lvl in reversed(LEVELS[top : LEVELS.index(level) + 1]):
            for c in (city, None) if city else (None,):
                name = self._by.get((network, lvl, c))
                if name is not None:
                    return name
        return None


def stack_for(census: Census, cloud: str, level: str, city: str | None) -> str:
    if census.sites.stack:
        return census.sites.stack
    return f"province-{cloud}" if level == "province" else f"city-{city}"


def place(
    census: Census,
    system: System,
    dept: Department,
    classes: AbstractSet[str],
    segments: SegmentIndex,
) -> Placement:
    cloud = "public" if system.audience == "public" else "admin"
    level = "province" if dept.level == "province" else "city"
    city = None if level == "province" else dept.city
    network, why = network_kind(system, classes)
    segment = segments.find(network, dept.level, dept.city)
    where = "province" if level == "province" else str(city)
    project = f"{cloud}-{where}-{dept.id}"
    reason = (
        f"{'public-service' if cloud == 'public' else 'administrative-service'} cloud "
        f"({'serves the public' if cloud == 'public' else 'internal audience'}) of "
        f"{'the province' if level == 'province' else f'city {city}'} ({dept.level} department); "
        f"{network} segment {segment}: {why}"
    )
    return Placement(
        cloud, level, city, network, segment, project, stack_for(census, cloud, level, city), reason
    )
