"""Probe flows with real TCP connections from their source hosts, one SSH session per host.

Each source host runs every probe of its flows at once (`timeout 3 bash -c '</dev/tcp/A/P'`,
in the background, one result line each), so a host with many filtered ports still answers
in about 3 s. What a probe saw: `open` (connected), `closed` (refused, timed out or no
route: the flow does not work), `error` (the host could not be asked, or said something
unexpected). A flow passes when it was observed as expected; an error never passes.
"""

from __future__ import annotations

import ipaddress
import shlex
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from onecloud._files import write_atomic
from onecloud.verify._flows import Flow
from onecloud.verify._probes import HostPool

__all__ = [
    "FlowResult",
    "Observed",
    "classify",
    "flows_junit",
    "probe_command",
    "probe_flows",
    "write_flows_junit",
]

Observed = Literal["open", "closed", "error"]

#: seconds a connection may take before the port counts as filtered
CONNECT_TIMEOUT = 3
_MARK = "@flow"


class _Pool(Protocol):
    def get(self, name: str) -> Any: ...


@dataclass(frozen=True)
class FlowResult:
    flow: Flow
    observed: Observed
    ok: bool
    detail: str
    seconds: float = 0.0

    @property
    def verdict(self) -> str:
        if self.ok:
            return "pass"
        if self.observed == "error":
            return "error"
        return f"FAIL: {self.observed}, expected {self.flow.expect}"


def probe_command(flows: Sequence[Flow]) -> str:
    """One shell command probing every flow at once; prints `@flow INDEX RC MESSAGE` each."""
    parts = []
    for i, f in enumerate(flows):
        addr = str(ipaddress.ip_address(f.dest_address))  # refuses anything but an address
        port = int(f.port)
        if not 0 < port < 65536:
            raise ValueError(f"refusing port {port!r}")
        probe = shlex.quote(f"</dev/tcp/{addr}/{port}")
        parts.append(
            f"{{ o=$(timeout {CONNECT_TIMEOUT} bash -c {probe} 2>&1); r=$?; "
            f"printf '{_MARK} %s %s %s\\n' {i} \"$r\" \"$(printf %s \"$o\" | tr '\\n' ' ')\"; }} &"
        )
    return " ".join(parts) + " wait"


def classify(rc: int, message: str) -> tuple[Observed, str]:
    """What one probe's exit status and message say about the flow. Pure."""
    msg = message.strip()
    low = msg.lower()
    if rc == 0:
        return "open", "connected"
    if rc == 124:
        return "closed", f"timed out after {CONNECT_TIMEOUT} s (filtered)"
    if "refused" in low:
        return "closed", "refused (nothing listens; the network let it through)"
    if "unreachable" in low or "no route" in low:
        return "closed", "unreachable (no route)"
    return "error", f"probe rc {rc}: {msg[:160] or 'no message'}"


def _parse(out: str, n: int) -> dict[int, tuple[int, str]]:
    found: dict[int, tuple[int, str]] = {}
    for line in out.splitlines():
        bits = line.split(" ", 3)
        if len(bits) >= 3 and bits[0] == _MARK and bits[1].isdigit() and bits[2].isdigit():
            i = int(bits[1])
            if i < n:
                found[i] = (int(bits[2]), bits[3] if len(bits) > 3 else "")
    return found


def _probe_host(host_name: str, flows: Sequence[Flow], pool: _Pool) -> list[FlowResult]:
    t0 = time.monotonic()
    try:
        out = pool.get(host_name).run(probe_command(flows))
        stdout, stderr = str(out.stdout), str(out.stderr)
    except Exception as exc:  # an unreachable host: every flow from it is an error
        lines = str(exc).strip().splitlines()
        why = f"cannot probe from {host_name}: {lines[-1] if lines else type(exc).__name__}"
        took = time.monotonic() - t0
        return [FlowResult(f, "error", False, why, took) for f in flows]
    took = time.monotonic() - t0
    found = _parse(stdout, len(flows))
    results = []
    for i, f in enumerate(flows):
        if i not in found:
            why = f"no answer from the probe on {host_name}: {stderr.strip()[:160] or 'no output'}"
            results.append(FlowResult(f, "error", False, why, took))
            continue
        observed, detail = classify(*found[i])
        results.append(FlowResult(f, observed, observed == f.expect, detail, took))
    return results


def probe_flows(
    flows: Sequence[Flow],
    ssh_config: Path | None = None,
    *,
    workers: int = 16,
    pool: _Pool | None = None,
    on_result: Callable[[FlowResult], None] | None = None,
) -> list[FlowResult]:
    """Probe every flow from its source host (one SSH command per host, hosts in a thread
    pool); results in the order of `flows`."""
    if not flows:
        return []
    hosts = pool if pool is not None else HostPool(ssh_config)
    by_source: dict[str, list[Flow]] = {}
    for f in flows:
        by_source.setdefault(f.source_host, []).append(f)
    done: dict[int, FlowResult] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(by_source)))) as ex:
        futures = [ex.submit(_probe_host, h, fs, hosts) for h, fs in by_source.items()]
        for fut in futures:
            for r in fut.result():
                if on_result is not None:
                    on_result(r)
                done[id(r.flow)] = r
    return [done[id(f)] for f in flows]


def flows_junit(results: Sequence[FlowResult], *, name: str = "onecloud-verify-network") -> str:
    """JUnit XML: one testsuite per destination system, one testcase per flow. Pure."""
    root = ET.Element("testsuites", name=name)
    by_dest: dict[str, list[FlowResult]] = {}
    for r in results:
        by_dest.setdefault(r.flow.dest_system, []).append(r)
    for system in sorted(by_dest):
        rs = by_dest[system]
        suite = ET.SubElement(
            root,
            "testsuite",
            name=f"network.{system}",
            tests=str(len(rs)),
            failures=str(sum(1 for r in rs if not r.ok and r.observed != "error")),
            errors=str(sum(1 for r in rs if r.observed == "error")),
        )
        for r in rs:
            f = r.flow
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"network.{system}.{f.expect}",
                name=f"{f.name} expect {f.expect}",
                time=f"{r.seconds:.3f}",
            )
            text = f"{f.source_address} -> {f.dest_address}:{f.port}: {r.detail} ({f.why})"
            if r.observed == "error":
                ET.SubElement(case, "error", message=r.detail).text = text
            elif not r.ok:
                msg = f"observed {r.observed}, expected {f.expect}"
                ET.SubElement(case, "failure", message=msg).text = text
            else:
                ET.SubElement(case, "system-out").text = text
    root.set("tests", str(len(results)))
    root.set("failures", str(sum(1 for r in results if not r.ok and r.observed != "error")))
    root.set("errors", str(sum(1 for r in results if r.observed == "error")))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_flows_junit(path: Path, results: Sequence[FlowResult]) -> Path:
    write_atomic(path, flows_junit(results))
    return path
