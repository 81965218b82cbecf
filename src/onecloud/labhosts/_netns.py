"""The machine side of the lab network: one bridge, a veth and a network namespace per host.

All changes go through `ip -batch` (one process for many hosts) because spawning `ip` per step
per host is what makes 50 hosts slow. Reading uses `ip -json`.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

from onecloud.errors import LabError

log = logging.getLogger(__name__)

NETNS_DIR = Path("/run/netns")


def _ip(*args: str, stdin: str | None = None, check: bool = True) -> str:
    try:
        proc = subprocess.run(
            ["ip", *args], input=stdin, capture_output=True, text=True, check=False, timeout=60
        )
    except FileNotFoundError as exc:
        raise LabError(
            "the `ip` command is missing (package iproute2)",
            hint="run scripts/lab-packages.sh as root",
        ) from exc
    if check and proc.returncode != 0:
        cmd = "ip " + " ".join(args)
        detail = proc.stderr.strip()
        if stdin:
            detail += "\n  batch was:\n    " + "\n    ".join(stdin.splitlines()[:20])
        raise LabError(
            f"`{cmd}` failed (exit {proc.returncode}): {detail}",
            hint="the lab host network could not be changed; are you root (CAP_NET_ADMIN)?",
        )
    return proc.stdout


def batch(lines: Sequence[str], *, force: bool = False) -> None:
    """Run `ip` commands in one process; with `force`, errors don't stop the batch (cleanup)."""
    if not lines:
        return
    args = ["-force", "-batch", "-"] if force else ["-batch", "-"]
    _ip(*args, stdin="\n".join(lines) + "\n", check=not force)


def link_names(prefix: str = "") -> set[str]:
    data = json.loads(_ip("-json", "link", "show") or "[]")
    return {d["ifname"] for d in data if d["ifname"].startswith(prefix)}


def netns_names(prefix: str = "") -> set[str]:
    try:
        return {p.name for p in NETNS_DIR.iterdir() if p.name.startswith(prefix)}
    except FileNotFoundError:
        return set()


def netns_pids(netns: str) -> list[int]:
    out = _ip("netns", "pids", netns, check=False)
    return [int(x) for x in out.split() if x.isdigit()]


def bridge_addresses(bridge: str) -> set[ipaddress.IPv4Interface]:
    out = _ip("-json", "-4", "addr", "show", "dev", bridge, check=False)
    data = json.loads(out or "[]")
    return {
        ipaddress.IPv4Interface(f"{a['local']}/{a['prefixlen']}")
        for d in data
        for a in d.get("addr_info", [])
        if a.get("family") == "inet"
    }


def bridge_ports(bridge: str) -> set[str]:
    out = _ip("-json", "link", "show", "master", bridge, check=False)
    return {d["ifname"] for d in json.loads(out or "[]")}


def route_conflicts(bridge: str, nets: Iterable[ipaddress.IPv4Network]) -> list[str]:
    """Routes of the machine that already claim one of `nets` on another device: adding our
    gateway there would steal (or lose) the traffic, so refuse instead."""
    data = json.loads(_ip("-json", "-4", "route", "show", "table", "main") or "[]")
    problems = []
    for net in nets:
        for route in data:
            dst, dev = route.get("dst", ""), route.get("dev", "")
            if dev == bridge or dst in ("", "default"):
                continue
            try:
                other = ipaddress.IPv4Network(dst, strict=False)
            except ValueError:
                continue
            if other.overlaps(net) and other.prefixlen >= 8:
                problems.append(f"{net} overlaps the route {dst} on device {dev}")
    return problems


def ensure_bridge(bridge: str, wanted: set[ipaddress.IPv4Interface]) -> None:
    """Create the bridge if missing, give it exactly the gateway addresses in `wanted`, and let
    it forward between the lab's subnets (forwarding on this interface only)."""
    lines = []
    if bridge not in link_names(bridge):
        lines.append(f"link add {bridge} type bridge")
    have = bridge_addresses(bridge) if not lines else set()
    lines += [f"addr add {a} dev {bridge}" for a in sorted(wanted - have, key=str)]
    lines += [f"addr del {a} dev {bridge}" for a in sorted(have - wanted, key=str)]
    lines.append(f"link set {bridge} up")
    batch(lines)
    for key, value in (("forwarding", "1"), ("send_redirects", "0")):
        path = Path(f"/proc/sys/net/ipv4/conf/{bridge}/{key}")
        try:
            path.write_text(value)
        except OSError as exc:
            log.warning("could not set %s=%s: %s", path, value, exc)


def delete_bridge(bridge: str) -> None:
    if bridge in link_names(bridge):
        batch([f"link del {bridge}"], force=True)
