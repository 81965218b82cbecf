"""The checks that prove a system, derived from its plan entry. Pure: no I/O.

After a switch (phase "migrated"): on each target its services run, its ports listen on the
target's address, its health URLs answer 200, its data trees have the source's digest and its
tables the row counts taken at the freeze; on each source nothing serves any more. Before a
migration (phase "legacy") the same service, port and health checks run on the sources, so
CI can prove the legacy estate too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from onecloud.contract import Phase, SystemSpec

__all__ = ["Check", "Kind", "Phase", "checks_for"]

Kind = Literal[
    "service_running",
    "port_listening",
    "health",
    "data_digest",
    "row_counts",
    "service_stopped",
    "port_closed",
    "service_enabled",  # starts at boot (SysV rc links), e.g. after a restore
    "service_disabled",  # never starts again, e.g. after a retirement
    "no_checks",  # the failed result of a system nothing could be derived for (never probed)
]


@dataclass(frozen=True)
class Check:
    """One assertion about one host (`peer`: the other host a comparison reads)."""

    system: str
    host: str
    kind: Kind
    name: str  # unique within the system, e.g. "edu-portal-1 webapp running"
    params: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    peer: str | None = None

    @property
    def id(self) -> str:
        return f"{self.system}::{self.name}"


def _serving(spec: SystemSpec, host: str, address: str) -> list[Check]:
    out: list[Check] = []
    for svc in spec.services:
        out.append(
            Check(
                spec.id,
                host,
                "service_running",
                f"{host} {svc.name} running",
                {"service": svc.name},
            )
        )
        # a database engine may listen on loopback only (Debian's default); apps on the address
        addrs = [address, "127.0.0.1"] if svc.engine else [address]
        out.append(
            Check(
                spec.id,
                host,
                "port_listening",
                f"{host} listens on {' or '.join(addrs)}:{svc.port}",
                {"addresses": addrs, "port": svc.port},
            )
        )
        if svc.health_path:
            url = f"http://{address}:{svc.port}{svc.health_path}"
            out.append(Check(spec.id, host, "health", f"{host} {url} answers 200", {"url": url}))
    return out


def checks_for(spec: SystemSpec, phase: Phase) -> list[Check]:
    """Every check of a system in the given phase, in a stable order."""
    out: list[Check] = []
    for pair in spec.pairs:
        src, tgt = pair.source, pair.target
        if phase == "legacy":
            out += _serving(spec, src.name, src.address)
            continue
        out += _serving(spec, tgt.name, tgt.address)
        if spec.data_paths:
            out.append(
                Check(
                    spec.id,
                    tgt.name,
                    "data_digest",
                    f"{tgt.name} data equals {src.name}'s",
                    {"paths": list(spec.data_paths)},
                    peer=src.name,
                )
            )
        tables = [
            {"engine": d.engine, "name": d.name, "tables": list(d.tables)}
            for d in spec.databases
            if d.tables
        ]
        if tables:
            out.append(
                Check(
                    spec.id,
                    tgt.name,
                    "row_counts",
                    f"{tgt.name} row counts equal {src.name}'s at the freeze",
                    {"databases": tables, "workdir": f"/var/lib/onecloud/{spec.id}"},
                    peer=src.name,
                )
            )
        for svc in spec.services:
            out.append(
                Check(
                    spec.id,
                    src.name,
                    "service_stopped",
                    f"{src.name} {svc.name} stopped",
                    {"service": svc.name},
                )
            )
            if not svc.engine:
                out.append(
                    Check(
                        spec.id,
                        src.name,
                        "port_closed",
                        f"{src.name} no longer serves {src.address}:{svc.port}",
                        {"address": src.address, "port": svc.port},
                    )
                )
    return out
