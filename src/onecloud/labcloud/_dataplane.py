"""The lab's data plane: which servers have which ports, and this machine's own way in.

Nova runs the fake driver, so no server boots; the lab makes each server's port a host instead
(the CLI edge hands `server_ports()` to `onecloud.labhosts`). This machine is the controller:
it reaches the servers only the way the stacks declare, through a port of its own on the
management network (`<prefix>-management`, joined to every segment's router), with a route per
segment via that segment's router. The legacy hosts' copy path to the servers (rsync over SSH,
tcp/22) goes through the controller too, routed (the routers send the replies back through
it); anything else from the lab bridge to the cloud is dropped here, and the servers' security
groups decide the rest. The internet is a port of its own on the external network
(`internet_port()`), which only the extranet's router reaches, through its gateway (SNAT, one
egress), and which reaches the extranet's public systems only through their floating IPs.
See docs/network.md.
"""

from __future__ import annotations

import ipaddress
import logging
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from onecloud.errors import LabError
from onecloud.labcloud import _catalog as catalog
from onecloud.labcloud._procs import BASE_ENV
from onecloud.labcloud._secrets import load_or_create
from onecloud.labcloud._settings import Settings

log = logging.getLogger(__name__)

MANAGEMENT_NETWORK = "onecloud-management"
CONTROLLER_PORT = "onecloud-lab-controller"
INTERNET_PORT = "onecloud-lab-internet"
#: the lab host standing for the internet (the SSH alias `verify --network --internet` takes)
INTERNET_HOST = "lab-internet"
#: the controller's end of its port (in this machine's namespace)
CONTROLLER_IFACE = "oclmgmt0"
#: the lab bridge of the legacy hosts (labhosts' bridge of the machine's own lab)
LEGACY_BRIDGE = "oclbr0"
FWD_CHAIN = "ONECLOUD-LAB-FWD"
RAW_CHAIN = "ONECLOUD-LAB-ZONE"
#: conntrack zone of the frames bridged on the management network (see _set_copy_path)
BRIDGE_ZONE = "65000"


@dataclass(frozen=True)
class ServerPort:
    """A server's first port on a tenant network: what the lab plugs a host into."""

    server: str
    server_id: str
    address: str  # IPv4 with the subnet's prefix, e.g. 198.19.1.10/24
    port_id: str
    mac: str
    network_id: str
    status: str  # the port's status: ACTIVE once the agent has wired it


@dataclass(frozen=True)
class Controller:
    address: str  # with prefix
    port_id: str
    routes: dict[str, str]  # segment CIDR -> router address on the management network


def _connect(settings: Settings) -> Any:
    return catalog.connect(settings, load_or_create(settings.layout.secrets)["admin"])


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(argv), capture_output=True, text=True, env=BASE_ENV, check=False)
    if check and proc.returncode != 0:
        raise LabError(
            f"`{' '.join(argv)}` failed (exit {proc.returncode}): {proc.stderr.strip()}",
            hint="the lab's data plane needs root with CAP_NET_ADMIN",
        )
    return proc


def server_ports(settings: Settings) -> list[ServerPort]:
    """Every primary-site server of every project with its first port on a `local` network
    (DR standby servers are left out: see docs/network.md), by server name."""
    conn = _connect(settings)
    try:
        local = {n.id for n in conn.network.networks() if n.provider_network_type == "local"}
        subnets = {s.id: s.cidr for s in conn.network.subnets()}
        ports: dict[str, list[Any]] = {}
        for p in conn.network.ports(device_owner="compute:nova"):
            ports.setdefault(p.device_id, []).append(p)
        found = []
        for server in conn.compute.servers(all_projects=True):
            if (server.metadata or {}).get("onecloud:role") == "dr":
                continue
            for p in sorted(ports.get(server.id, []), key=lambda p: p.created_at or ""):
                if p.network_id not in local or not p.fixed_ips:
                    continue
                ip = p.fixed_ips[0]
                prefix = ipaddress.ip_network(subnets[ip["subnet_id"]]).prefixlen
                found.append(
                    ServerPort(
                        server=server.name,
                        server_id=server.id,
                        address=f"{ip['ip_address']}/{prefix}",
                        port_id=p.id,
                        mac=p.mac_address,
                        network_id=p.network_id,
                        status=p.status,
                    )
                )
                break
        return sorted(found, key=lambda s: s.server)
    finally:
        conn.close()


def port_statuses(settings: Settings, port_ids: list[str]) -> dict[str, str]:
    conn = _connect(settings)
    try:
        wanted = set(port_ids)
        return {p.id: p.status for p in conn.network.ports() if p.id in wanted}
    finally:
        conn.close()


def _own_port(
    conn: Any,
    settings: Settings,
    network_id: str,
    name: str,
    role: str,
    description: str,
    **create: Any,
) -> Any:
    """A port of the lab's own (`name`, created once) on `network_id`, bound to the compute
    host, without port security: the lab filters its own side (the controller) or stands for
    the world (the internet); port security found enabled is disabled again."""
    port = conn.network.find_port(name, network_id=network_id)
    if port is None:
        return conn.network.create_port(
            name=name,
            network_id=network_id,
            description=description,
            device_owner=f"onecloud:{role}",
            device_id=f"{role}-{settings.compute_host}",
            binding_host_id=settings.compute_host,
            port_security_enabled=False,
            security_group_ids=[],
            **create,
        )
    if port.is_port_security_enabled:
        return conn.network.update_port(port, port_security_enabled=False, security_group_ids=[])
    return port


def _internet_address(settings: Settings) -> str:
    """The external network's last address: outside the floating-IP pool, never a gateway."""
    return str(ipaddress.ip_network(settings.network.cidr).broadcast_address - 1)


def internet_port(settings: Settings) -> ServerPort | None:
    """The lab's internet: a port on the external network (created once, without port
    security: it stands for the world, not for a server), for a host the lab plugs into it.
    None when the cloud has no external network yet."""
    conn = _connect(settings)
    try:
        network = conn.network.find_network(settings.network.name)
        if network is None or not network.subnet_ids:
            return None
        subnet = conn.network.get_subnet(network.subnet_ids[0])
        port = _own_port(
            conn,
            settings,
            network.id,
            INTERNET_PORT,
            "internet",
            "the lab's stand-in for the internet (docs/network.md)",
            fixed_ips=[{"subnet_id": subnet.id, "ip_address": _internet_address(settings)}],
        )
        prefix = ipaddress.ip_network(subnet.cidr).prefixlen
        return ServerPort(
            server=INTERNET_HOST,
            server_id="",
            address=f"{port.fixed_ips[0]['ip_address']}/{prefix}",
            port_id=port.id,
            mac=port.mac_address,
            network_id=network.id,
            status=port.status,
        )
    finally:
        conn.close()


# ------------------------------------------------------------------------- the controller


def _controller_port(conn: Any, settings: Settings, network: Any) -> Any:
    """The controller's port, without port security: the copy path's packets cross this
    machine's connection tracking (routed and masqueraded) before they reach the bridge, and a
    security group on the port would then see their replies in another conntrack zone and drop
    them. This machine filters its side itself (`_set_copy_path`); the servers' groups decide
    what they accept from it."""
    return _own_port(
        conn,
        settings,
        network.id,
        CONTROLLER_PORT,
        "controller",
        "the lab's controller (this machine) on the management network",
    )


def _routes(conn: Any, network_id: str, internet: str) -> dict[str, str]:
    """Segment CIDR -> the address of its router on the management network; the lab's
    internet (`internet`/32) through the router that has the external gateway."""
    subnets = {s.id: s.cidr for s in conn.network.subnets()}
    routes: dict[str, str] = {}
    for mgmt in conn.network.ports(network_id=network_id, device_owner="network:router_interface"):
        via = mgmt.fixed_ips[0]["ip_address"]
        if (conn.network.get_router(mgmt.device_id).external_gateway_info or {}).get("network_id"):
            routes[f"{internet}/32"] = via
        for p in conn.network.ports(device_id=mgmt.device_id):
            if p.network_id == network_id or p.device_owner != "network:router_interface":
                continue
            for ip in p.fixed_ips:
                routes[subnets[ip["subnet_id"]]] = via
    return dict(sorted(routes.items()))


def _wait_bridge(bridge: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not Path(f"/sys/class/net/{bridge}/bridge").is_dir():
        if time.monotonic() > deadline:
            raise LabError(
                f"the management network's bridge {bridge} did not appear in {timeout:.0f} s",
                hint="is the linuxbridge agent up (`onecloud lab status`)?",
            )
        time.sleep(0.2)


def _plug_controller(port: Any, address: str) -> None:
    tap = "tap" + port.id[:11]
    if (
        Path(f"/sys/class/net/{CONTROLLER_IFACE}").exists()
        and not Path(f"/sys/class/net/{tap}").exists()
    ):
        _run("ip", "link", "del", CONTROLLER_IFACE)  # paired with the tap of an older port
    if not Path(f"/sys/class/net/{CONTROLLER_IFACE}").exists():
        _run("ip", "link", "add", CONTROLLER_IFACE, "address", port.mac_address, "type", "veth",
             "peer", "name", tap)  # fmt: skip
    _run("ip", "link", "set", tap, "up")
    _wait_bridge("brq" + port.network_id[:11])
    _run("ip", "link", "set", tap, "master", "brq" + port.network_id[:11])
    _run("ip", "addr", "replace", address, "dev", CONTROLLER_IFACE)
    _run("ip", "link", "set", CONTROLLER_IFACE, "up")
    # replies of the copy path come back in here and are forwarded to the lab bridge
    Path(f"/proc/sys/net/ipv4/conf/{CONTROLLER_IFACE}/forwarding").write_text("1")


def _set_routes(routes: dict[str, str]) -> None:
    have = _run("ip", "-4", "route", "show", "dev", CONTROLLER_IFACE, "proto", "static").stdout
    stale = {line.split()[0] for line in have.splitlines() if line.strip()} - set(routes)
    for cidr in sorted(stale):
        _run("ip", "route", "del", cidr, "dev", CONTROLLER_IFACE, check=False)
    for cidr, via in routes.items():
        _run("ip", "route", "replace", cidr, "via", via, "dev", CONTROLLER_IFACE, "proto", "static")


def _iptables(table: str, chain: str, parent: str, rules: list[list[str]]) -> None:
    """Our own chain in `table`, jumped to first from `parent`, holding exactly `rules`."""
    if _run("iptables", "-t", table, "-nL", chain, check=False).returncode != 0:
        _run("iptables", "-t", table, "-N", chain)
    _run("iptables", "-t", table, "-F", chain)
    for rule in rules:
        _run("iptables", "-t", table, "-A", chain, *rule)
    if _run("iptables", "-t", table, "-C", parent, "-j", chain, check=False).returncode != 0:
        _run("iptables", "-t", table, "-I", parent, "1", "-j", chain)


def _lab_bridge_subnets() -> list[str]:
    """The legacy hosts' subnets: the connected routes of the lab bridge."""
    out = _run("ip", "-4", "route", "show", "dev", LEGACY_BRIDGE, "scope", "link", check=False)
    return sorted(line.split()[0] for line in out.stdout.splitlines() if line.strip())


def _set_return_routes(conn: Any, network_id: str, controller_ip: str) -> None:
    """Each router on the management network routes the legacy hosts' subnets back through
    the controller (replies of the copy path; the servers see the real source address, which
    their security groups and the copy key's `from=` admit)."""
    wanted = [{"destination": d, "nexthop": controller_ip} for d in _lab_bridge_subnets()]
    routers = {
        p.device_id
        for p in conn.network.ports(network_id=network_id, device_owner="network:router_interface")
    }
    for rid in sorted(routers):
        router = conn.network.get_router(rid)
        have = list(router.routes or [])
        stale = [r for r in have if r not in wanted and r["nexthop"] != controller_ip]
        stale += [r for r in have if r["nexthop"] == controller_ip and r not in wanted]
        if stale:
            conn.network.remove_extra_routes_from_router(router, body={"router": {"routes": stale}})
        missing = [r for r in wanted if r not in have]
        if missing:
            conn.network.add_extra_routes_to_router(router, body={"router": {"routes": missing}})


def _set_copy_path(bridge: str) -> None:
    """Legacy hosts may reach the servers' SSH (tcp/22, the migration's copy path) through
    this machine, and nothing else; nothing from the cloud may open a connection to them. A
    packet of that path crosses this machine's connection tracking twice, routed and then
    bridged on the management network: the bridged leg gets a conntrack zone of its own."""
    _iptables("raw", RAW_CHAIN, "PREROUTING", [["-i", bridge, "-j", "CT", "--zone", BRIDGE_ZONE]])
    _iptables(
        "filter",
        FWD_CHAIN,
        "FORWARD",
        [
            ["-i", LEGACY_BRIDGE, "-o", CONTROLLER_IFACE, "-p", "tcp", "--dport", "22", "-j",
             "ACCEPT"],
            ["-i", LEGACY_BRIDGE, "-o", CONTROLLER_IFACE, "-j", "DROP"],
            ["-i", CONTROLLER_IFACE, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED",
             "-j", "ACCEPT"],
            ["-i", CONTROLLER_IFACE, "-j", "DROP"],
        ],
    )  # fmt: skip


def attach_controller(settings: Settings) -> Controller | None:
    """Plug this machine into the management network and route every segment through its
    router (idempotent). No management network in the cloud: detach, return None."""
    conn = _connect(settings)
    try:
        network = conn.network.find_network(MANAGEMENT_NETWORK)
        if network is None:
            detach_controller()
            return None
        port = _controller_port(conn, settings, network)
        fixed = port.fixed_ips[0]
        prefix = ipaddress.ip_network(conn.network.get_subnet(fixed["subnet_id"]).cidr).prefixlen
        address = f"{fixed['ip_address']}/{prefix}"
        routes = _routes(conn, network.id, _internet_address(settings))
        _set_return_routes(conn, network.id, fixed["ip_address"])
    finally:
        conn.close()
    _plug_controller(port, address)
    _set_routes(routes)
    _set_copy_path("brq" + port.network_id[:11])
    return Controller(address=address, port_id=port.id, routes=routes)


def detach_controller() -> None:
    """Remove this machine's side of the management path (the port stays in Neutron)."""
    for table, chain, parent in (("filter", FWD_CHAIN, "FORWARD"),):
        while _run("iptables", "-t", table, "-D", parent, "-j", chain, check=False).returncode == 0:
            pass
        _run("iptables", "-t", table, "-F", chain, check=False)
        _run("iptables", "-t", table, "-X", chain, check=False)
    if Path(f"/sys/class/net/{CONTROLLER_IFACE}").exists():
        _run("ip", "link", "del", CONTROLLER_IFACE, check=False)


def release_controller(settings: Settings) -> None:
    """Detach this machine, drop the routers' return routes through it and delete its port,
    so that the management network can go (`stack destroy` of the stack declaring it would
    otherwise wait for ever: on the port to delete the subnet, and on the routes, which pin
    the routers' interfaces on it, with 409 Conflict)."""
    detach_controller()
    conn = _connect(settings)
    try:
        for port in conn.network.ports(name=CONTROLLER_PORT):
            mine = {ip["ip_address"] for ip in port.fixed_ips}
            for router in conn.network.routers():
                routes = [r for r in router.routes or [] if r["nexthop"] in mine]
                if routes:
                    conn.network.remove_extra_routes_from_router(
                        router, body={"router": {"routes": routes}}
                    )
            conn.network.delete_port(port, ignore_missing=True)
    finally:
        conn.close()
