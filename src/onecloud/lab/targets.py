"""A lab step: give every planned cloud server (and every legacy host) an SSH host in the lab.

In the lab, the servers a workload stack declares in the lab cloud are Nova servers with the
fake virt driver: nothing boots. So that migrations target exactly what the stack outputs say,
each target server becomes a network-namespace SSH host at the fixed IP Neutron gave it (the
stack's `systems` output), or, when the stack is not up, at the plan's planned address.
`ensure_target_hosts` returns which source of addresses it used in `TargetHosts.origin`.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from onecloud.errors import LabError
from onecloud.plan.models import Plan, PlannedSystem

__all__ = [
    "TargetHosts",
    "ensure_target_hosts",
    "legacy_specs",
    "read_systems_output",
    "target_specs",
    "workloads_for",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TargetHosts:
    statuses: list[Any]  # onecloud.lab.hosts.HostStatus
    origin: Literal["stack", "plan"]


def read_systems_output(stack: str) -> dict[str, Any] | None:
    """The stack's `systems` output, or None when the toolchain or the stack is not there."""
    try:
        from onecloud import toolchain
    except ImportError:
        return None
    tc = toolchain.find()
    if tc is None:
        log.info("no Pulumi toolchain built: using the plan's planned addresses")
        return None
    try:
        out = subprocess.run(
            [str(tc.pulumi), "stack", "output", "--json", "--show-secrets", "-s", stack],
            capture_output=True, text=True, env=tc.env(), timeout=120,
            cwd=str(_project_root()), check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.info("pulumi stack output failed (%s): using the plan", exc)
        return None
    if out.returncode != 0:
        log.info("stack %s has no outputs (%s): using the plan", stack, out.stderr.strip()[:200])
        return None
    try:
        systems = json.loads(out.stdout or "{}").get("systems")
    except ValueError:
        return None
    return systems if isinstance(systems, dict) else None


def _project_root() -> Any:
    from onecloud import paths

    return paths.PROJECT_ROOT


def _prefix(plan: Plan, system: PlannedSystem) -> int:
    for seg in plan.segments:
        if seg.name == system.segment:
            return ipaddress.IPv4Network(seg.cidr).prefixlen
    return 24


def target_specs(
    plan: Plan,
    outputs: Mapping[str, Any] | None,
    *,
    systems: Iterable[str] | None = None,
    disk_mb: int | None = None,
) -> tuple[list[Any], Literal["stack", "plan"]]:
    """HostSpecs of the target servers (role "target", no workloads). Pure."""
    from onecloud.lab.hosts import HostSpec

    wanted = set(systems) if systems is not None else None
    specs = []
    origin: Literal["stack", "plan"] = "plan"
    for s in plan.systems:
        if s.disposition != "migrate" or (wanted is not None and s.id not in wanted):
            continue
        prefix = _prefix(plan, s)
        entries: list[tuple[str, str]]
        if outputs and s.id in outputs:
            origin = "stack"
            entries = [(str(t["name"]), str(t["address"]))
                       for t in (outputs[s.id].get("targets") or [])]
        else:
            entries = [(t.name, t.address) for t in s.targets]
        for name, address in entries:
            specs.append(HostSpec(name=name, address=f"{address}/{prefix}", role="target",
                                  disk_mb=disk_mb))
    return specs, origin


def ensure_target_hosts(plan: Plan, outputs: Mapping[str, Any] | None, *,
                        systems: Iterable[str] | None = None, disk_mb: int | None = None
                        ) -> list[Any]:
    """Make every planned cloud server a reachable SSH host at its fixed IP.

    `outputs` is the stack's `systems` output (`read_systems_output`), or None to use the
    plan's planned addresses. Returns the hosts' statuses (`onecloud.lab.hosts.HostStatus`).
    """
    from onecloud.lab.hosts import hosts_up

    specs, origin = target_specs(plan, outputs, systems=systems, disk_mb=disk_mb)
    log.info("target hosts from the %s: %s", origin, ", ".join(s.name for s in specs))
    if not specs:
        return []
    statuses = hosts_up(specs)
    down = [s for s in statuses if not s.reachable]
    if down:
        raise LabError(
            "target host(s) not reachable: "
            + "; ".join(f"{s.name} ({s.address}): {s.detail}" for s in down),
            hint="see the hosts' console logs with `onecloud lab status`",
        )
    return statuses


def workloads_for(service_names: Iterable[str]) -> tuple[str, ...]:
    """The lab workloads (onecloud.lab.workloads.CATALOG) whose services a system runs."""
    from onecloud.lab.workloads import CATALOG

    names = set(service_names)
    return tuple(sorted(w.name for w in CATALOG.values()
                        if names & {svc.name for svc in w.services}))


def legacy_specs(plan: Plan, *, systems: Iterable[str] | None = None,
                 disk_mb: int | None = None) -> list[Any]:
    """HostSpecs of the legacy (source) hosts of migrating systems, seeded with their workloads."""
    from onecloud.lab.hosts import HostSpec

    wanted = set(systems) if systems is not None else None
    by_host: dict[str, tuple[str, set[str]]] = {}
    for s in plan.systems:
        if s.disposition != "migrate" or (wanted is not None and s.id not in wanted):
            continue
        for h in s.sources:
            _addr, loads = by_host.setdefault(h.id, (h.address, set()))
            loads.update(workloads_for(svc.name for svc in s.services))
    return [HostSpec(name=name, address=f"{addr}/24", role="legacy",
                     workloads=tuple(sorted(loads)), disk_mb=disk_mb)
            for name, (addr, loads) in sorted(by_host.items())]
