"""The CLI edge where the product meets the lab: census and plan turned into lab host specs.

The lab knows hosts (`onecloud.labhosts.HostSpec`), not censuses or plans; the product never
imports the lab. This module, used by `onecloud lab up|targets`, the demo, the integration
tests and the benchmarks, is the one place that turns one into the other:

- every census host (or a plan's source host) becomes a legacy host at its address, seeded
  with the lab workloads its systems run;
- every target server of a workload stack becomes a host at the fixed IP Neutron gave it
  (the stack's `systems` output), or, when the stack is not up, at the plan's planned address.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from onecloud.census import Census
from onecloud.errors import LabError
from onecloud.labhosts import (
    CATALOG,
    HostSpec,
    HostStatus,
    PortPlug,
    hosts_down,
    hosts_status,
    hosts_up,
)
from onecloud.plan import Plan, PlannedSystem

__all__ = [
    "LAB_RANGE",
    "Servers",
    "ensure_target_hosts",
    "legacy_specs",
    "legacy_specs_of_census",
    "reconcile_if_lab",
    "reconcile_servers",
    "release_if_lab",
    "target_specs",
    "workloads_for",
]

log = logging.getLogger(__name__)

#: the only range the lab may use: nothing outside it is ever contacted
LAB_RANGE = ipaddress.IPv4Network("198.18.0.0/15")
LEGACY_PREFIX = 24


def workloads_for(service_names: Iterable[str]) -> tuple[str, ...]:
    """The lab workloads (`onecloud.labhosts.CATALOG`) whose services a system runs."""
    names = set(service_names)
    return tuple(
        sorted(w.name for w in CATALOG.values() if names & {svc.name for svc in w.services})
    )


def _legacy(hosts: Mapping[str, tuple[str, list[str]]], disk_mb: int | None) -> list[HostSpec]:
    """One legacy HostSpec per host: {name: (address, workloads)} in name order."""
    return [
        HostSpec(
            name=name,
            address=f"{addr}/{LEGACY_PREFIX}",
            role="legacy",
            workloads=tuple(dict.fromkeys(loads)),
            disk_mb=disk_mb,
        )
        for name, (addr, loads) in sorted(hosts.items())
    ]


def legacy_specs_of_census(census: Census, where: Path | str = "census") -> list[HostSpec]:
    """HostSpecs for every census host; hosts outside the lab range are refused.

    Each host is seeded with the workloads its systems' services run. The hosts of systems
    the census marks zombie, shadow or unknown (those the plan may retire) also get an access
    log whose last entry is the census's last access (`access-<date>-<users>`), so the fresh
    evidence `onecloud retire` probes matches the census until someone uses them again."""
    from onecloud.labhosts.workloads import access_workload

    seeded: dict[str, list[str]] = {}
    for system in census.systems:
        loads = list(workloads_for(svc.name for svc in system.services))
        if system.status != "in_use" or census.is_retired_status(system):
            last = system.usage.last_access
            if last is not None:
                loads.append(access_workload(last.isoformat(), system.usage.active_users or 1))
        for host_id in system.hosts:
            seeded.setdefault(host_id, []).extend(loads)
    hosts: dict[str, tuple[str, list[str]]] = {}
    for host in census.hosts:
        if ipaddress.IPv4Address(host.address) not in LAB_RANGE:
            origin = census.origins.get(host.id, str(where))
            raise LabError(
                f"{origin}: host {host.id} has address {host.address}, outside the lab's "
                f"{LAB_RANGE}; the lab only creates hosts it can keep on this machine",
                hint="use the lab's sample census (inventory/census) or addresses in 198.18.0.0/15",
            )
        hosts[host.id] = (host.address, seeded.get(host.id, []))
    return _legacy(hosts, None)


def legacy_specs(
    plan: Plan, *, systems: Iterable[str] | None = None, disk_mb: int | None = None
) -> list[HostSpec]:
    """HostSpecs of the legacy (source) hosts of migrating systems, for plans without a census
    (the benchmarks')."""
    wanted = set(systems) if systems is not None else None
    found: dict[str, tuple[str, set[str]]] = {}
    for s in plan.systems:
        if s.disposition != "migrate" or (wanted is not None and s.id not in wanted):
            continue
        for h in s.sources:
            _addr, loads = found.setdefault(h.id, (h.address, set()))
            loads.update(workloads_for(svc.name for svc in s.services))
    return _legacy({n: (a, sorted(w)) for n, (a, w) in found.items()}, disk_mb)


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
) -> tuple[list[HostSpec], Literal["stack", "plan"]]:
    """HostSpecs of the target servers (role "target", no workloads), and where their addresses
    came from. `outputs` is the stack's `systems` output, or None for the plan's. Pure."""
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
            entries = [
                (str(t["name"]), str(t["address"])) for t in (outputs[s.id].get("targets") or [])
            ]
        else:
            entries = [(t.name, t.address) for t in s.targets]
        for name, address in entries:
            specs.append(
                HostSpec(name=name, address=f"{address}/{prefix}", role="target", disk_mb=disk_mb)
            )
    return specs, origin


def ensure_target_hosts(
    plan: Plan,
    outputs: Mapping[str, Any] | None,
    *,
    systems: Iterable[str] | None = None,
    disk_mb: int | None = None,
) -> list[HostStatus]:
    """Make every planned cloud server a reachable SSH host at its fixed IP."""
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


@dataclass
class Servers:
    """What `reconcile_servers` did: the controller's attachment and a host per server."""

    controller: Any  # labcloud.Controller | None
    hosts: list[HostStatus]
    ports: dict[str, str]  # port id -> its status in Neutron (ACTIVE once wired)
    removed: list[str]


def server_specs(server_ports: Iterable[Any]) -> list[HostSpec]:
    """A target host per server, plugged into the server's port (`labcloud.ServerPort`s)."""
    return [
        HostSpec(
            name=sp.server,
            address=sp.address,
            role="target",
            port=PortPlug(port_id=sp.port_id, mac=sp.mac, network_id=sp.network_id),
        )
        for sp in server_ports
    ]


def reconcile_servers(progress: Callable[[str], None] | None = None) -> Servers:
    """Make the lab's hosts match the cloud's servers: this machine on the management network,
    every server a host on its own port (created, re-plugged when its port changed), the
    internet's host on the external network, and the hosts of servers that are gone removed.
    Idempotent; the data plane of docs/network.md."""
    from onecloud import labcloud

    say = progress or (lambda msg: log.info("%s", msg))
    settings = labcloud.default_settings()
    controller = labcloud.attach_controller(settings)
    if controller is not None:
        say(
            f"controller {controller.address} on the management network; "
            f"{len(controller.routes)} segment route(s)"
        )
    specs = server_specs(labcloud.server_ports(settings))
    # the internet, for the extranet's egress and floating IPs: reached through the management
    # network, so only while this machine is on it
    internet = labcloud.internet_port(settings) if controller is not None else None
    if internet is not None:
        specs.append(
            HostSpec(
                name=internet.server,
                address=internet.address,
                role="internet",
                workloads=("internet",),
                port=PortPlug(internet.port_id, internet.mac, internet.network_id),
            )
        )
    wanted = {s.name for s in specs}
    removed = [st.name for st in hosts_status() if st.port_id is not None and st.name not in wanted]
    if removed:
        say(f"removing {len(removed)} host(s) whose server is gone: {', '.join(removed)}")
        hosts_down(removed)
    statuses = hosts_up(specs, progress=say) if specs else []
    ports = _wait_active(settings, [s.port.port_id for s in specs if s.port])
    return Servers(controller, statuses, ports, removed)


def _wait_active(settings: Any, port_ids: list[str], timeout: float = 60.0) -> dict[str, str]:
    """Port statuses once every port is ACTIVE (the agent wired it), or at `timeout`."""
    from onecloud import labcloud

    deadline = time.monotonic() + timeout
    while True:
        statuses = labcloud.port_statuses(settings, port_ids) if port_ids else {}
        if all(v == "ACTIVE" for v in statuses.values()) or time.monotonic() > deadline:
            return statuses
        time.sleep(1.0)


def _on_lab(stack: str) -> bool:
    """Does the stack deploy to the lab cloud, and is that up?"""
    from onecloud import labcloud
    from onecloud.iac import stack_cloud

    lab_clouds = (labcloud.CLOUD_NAME, labcloud.CLOUD_NAME_DR)
    return stack_cloud(stack) in lab_clouds and labcloud.is_up()


def reconcile_if_lab(stack: str, progress: Callable[[str], None] | None = None) -> Servers | None:
    """After `stack up|destroy`: reconcile when the stack deploys to the running lab cloud."""
    return reconcile_servers(progress) if _on_lab(stack) else None


def release_if_lab(stack: str) -> None:
    """Before `stack destroy`: this machine leaves the management network (its port would
    keep the network's subnet from being deleted); `reconcile_if_lab` re-attaches it if
    another stack still declares one."""
    from onecloud import labcloud

    if _on_lab(stack):
        labcloud.release_controller(labcloud.default_settings())
