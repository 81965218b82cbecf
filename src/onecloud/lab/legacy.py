"""The lab's legacy hosts, derived from the census: every department server becomes a real SSH
host at its census address, seeded with the workload its systems run, so a migration has
something true to move and verify. (`onecloud.lab.targets.legacy_specs` does the same from a
plan, for plans that have no census, e.g. the benchmarks'.)
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import TYPE_CHECKING

from onecloud.errors import LabError

if TYPE_CHECKING:
    from onecloud.lab.hosts import HostSpec

#: the only range the lab may use: nothing outside it is ever contacted
LAB_RANGE = ipaddress.IPv4Network("198.18.0.0/15")
LEGACY_PREFIX = 24


def legacy_specs(census_dir: Path) -> list[HostSpec]:
    """HostSpecs for every census host; hosts outside the lab range are refused."""
    from onecloud.census.loader import load_census
    from onecloud.lab.hosts import HostSpec
    from onecloud.lab.targets import workloads_for

    census = load_census(census_dir)
    seeded: dict[str, list[str]] = {}
    for system in census.systems:
        if census.is_retired_status(system):
            continue
        for host_id in system.hosts:
            seeded.setdefault(host_id, []).extend(
                workloads_for(svc.name for svc in system.services)
            )
    specs = []
    for host in sorted(census.hosts, key=lambda h: h.id):
        if ipaddress.IPv4Address(host.address) not in LAB_RANGE:
            where = census.origins.get(host.id, str(census_dir))
            raise LabError(
                f"{where}: host {host.id} has address {host.address}, outside the lab's "
                f"{LAB_RANGE}; the lab only creates hosts it can keep on this machine",
                hint="use the lab's sample census (inventory/census) or addresses in 198.18.0.0/15",
            )
        work = tuple(dict.fromkeys(seeded.get(host.id, [])))
        specs.append(
            HostSpec(
                name=host.id,
                address=f"{host.address}/{LEGACY_PREFIX}",
                role="legacy",
                workloads=work,
            )
        )
    return specs
