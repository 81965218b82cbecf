"""Guardrails as code: the rules the policy pack (`policy/`) enforces on every preview and up.

Pure functions over a plain view of the stack's resources (`Res`), so they are tested without
an engine. Each violation names the rule and the system. The rules:

- `intranet-stays-off-extranet`: a system labelled for the intranet never gets a port on an
  extranet network nor a floating IP; a system at MLPS level 3 or more is never on the extranet.
- `no-world-open-rules`: no security-group rule is open to the whole internet, except ingress
  to the declared public services of public-facing extranet systems and egress of extranet
  systems through the consolidated egress.
- `protected-systems-have-dr`: a system at MLPS level 3 or more has a DR tier; when the stack
  also declares the DR centre, hot systems have standby servers and warm ones reserved ports.
- `resources-carry-labels`: every resource that can carry tags or metadata carries
  `department=` and `system=`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from onecloud.iac._tags import parse_tags

__all__ = ["RULES", "Res", "Violation", "check_all", "labels_of"]

T_PORT = "openstack:networking/port:Port"
T_NETWORK = "openstack:networking/network:Network"
T_FIP = "openstack:networking/floatingIp:FloatingIp"
T_SG = "openstack:networking/secGroup:SecGroup"
T_RULE = "openstack:networking/secGroupRule:SecGroupRule"
T_SERVER = "openstack:compute/instance:Instance"

#: types that can carry labels (`tags` and/or `metadata`)
LABELLED = {
    "openstack:identity/project:Project",
    T_NETWORK,
    "openstack:networking/subnet:Subnet",
    "openstack:networking/subnetPool:SubnetPool",
    "openstack:networking/router:Router",
    T_PORT,
    T_SG,
    T_FIP,
    T_SERVER,
    "openstack:images/image:Image",
    "openstack:blockstorage/volume:Volume",
}

WORLD = {"0.0.0.0/0", "::/0"}

RULES = {
    "intranet-stays-off-extranet": "intranet systems never sit on the extranet nor get public IPs",
    "no-world-open-rules": "no rule open to the internet but extranet public services and egress",
    "protected-systems-have-dr": "MLPS level 3+ systems have DR; standby per tier in the DR centre",
    "resources-carry-labels": "every taggable resource carries department= and system= labels",
}


@dataclass(frozen=True)
class Res:
    """A resource as the policy engine shows it (props use the engine's camelCase names)."""

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    #: property name -> URNs of the resources that property was computed from
    deps: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Violation:
    rule: str
    system: str | None
    message: str
    urn: str | None = None

    def __str__(self) -> str:
        who = f"system {self.system}" if self.system else "landing zone"
        return f"[{self.rule}] {who}: {self.message}"


def labels_of(r: Res) -> dict[str, str]:
    tags = r.props.get("tags")
    meta = r.props.get("metadata")
    return parse_tags(
        [str(t) for t in tags]
        if isinstance(tags, Sequence) and not isinstance(tags, str)
        else None,
        {str(k): str(v) for k, v in meta.items()} if isinstance(meta, Mapping) else None,
    )


def unknown(r: Res) -> bool:
    """No properties known yet (e.g. its provider is not configured during a first preview).

    Such a resource is judged when `up` creates it: the engine runs the policies again then.
    """
    return not r.props


def _dep(r: Res, prop: str, by_urn: Mapping[str, Res]) -> Res | None:
    for urn in r.deps.get(prop, ()):
        if urn in by_urn:
            return by_urn[urn]
    return None


def _mlps(lab: Mapping[str, str]) -> int:
    try:
        return int(lab.get("mlps", "0"))
    except ValueError:
        return 0


def check_labels(r: Res) -> list[Violation]:
    if r.type not in LABELLED or unknown(r):
        return []
    lab = labels_of(r)
    missing = [k for k in ("department", "system") if not lab.get(k)]
    if not missing:
        return []
    return [
        Violation(
            "resources-carry-labels",
            lab.get("system"),
            f"{r.type.rsplit(':', 1)[-1]} {r.name} lacks the label(s) {', '.join(missing)} "
            "(tags `key=value` or metadata `onecloud:key`)",
            r.urn,
        )
    ]


def check_intranet(resources: Sequence[Res]) -> list[Violation]:
    by_urn = {r.urn: r for r in resources}
    out: list[Violation] = []
    for r in resources:
        lab = labels_of(r)
        system = lab.get("system")
        if r.type in (T_PORT, T_SERVER) and lab.get("zone") == "extranet" and _mlps(lab) >= 3:
            out.append(
                Violation(
                    "intranet-stays-off-extranet",
                    system,
                    f"MLPS level {lab['mlps']} system placed on the extranet ({r.name}); "
                    "it belongs on the intranet",
                    r.urn,
                )
            )
        if r.type == T_PORT and lab.get("zone") == "intranet":
            net = _dep(r, "networkId", by_urn)
            if net is not None and labels_of(net).get("zone") == "extranet":
                out.append(
                    Violation(
                        "intranet-stays-off-extranet",
                        system,
                        f"port {r.name} of an intranet system is on extranet network {net.name}",
                        r.urn,
                    )
                )
        if r.type == T_FIP:
            port = _dep(r, "portId", by_urn)
            plab = labels_of(port) if port is not None else lab
            if plab.get("zone") == "intranet":
                out.append(
                    Violation(
                        "intranet-stays-off-extranet",
                        plab.get("system") or system,
                        f"floating IP {r.name} would expose an intranet system to the internet",
                        r.urn,
                    )
                )
    return out


def _is_world(rule: Mapping[str, Any]) -> bool:
    prefix = rule.get("remoteIpPrefix")
    if prefix in WORLD:
        return True
    # no remote at all means "from anywhere" to Neutron
    return not prefix and not rule.get("remoteGroupId") and not rule.get("remoteAddressGroupId")


def check_world_open(resources: Sequence[Res]) -> list[Violation]:
    by_urn = {r.urn: r for r in resources}
    out: list[Violation] = []
    for r in resources:
        if r.type != T_RULE or unknown(r) or not _is_world(r.props):
            continue
        sg = _dep(r, "securityGroupId", by_urn)
        lab = labels_of(sg) if sg is not None else {}
        system = lab.get("system")
        direction = r.props.get("direction", "ingress")
        ports = f"{r.props.get('protocol') or 'any'} {r.props.get('portRangeMin') or ''}".strip()
        if sg is None:
            why = "its security group is not in this stack, so nothing proves it may be"
        elif lab.get("zone") != "extranet":
            why = f"the system is on the {lab.get('zone', 'unknown')} network"
        elif direction == "ingress" and lab.get("audience") != "public":
            why = "only public-facing extranet systems may take traffic from the internet"
        else:
            continue
        out.append(
            Violation(
                "no-world-open-rules",
                system,
                f"{direction} rule {r.name} ({ports}) is open to the internet: {why}",
                r.urn,
            )
        )
    return out


def check_dr(resources: Sequence[Res]) -> list[Violation]:
    primary: dict[str, dict[str, str]] = {}
    dr_servers: set[str] = set()
    dr_ports: set[str] = set()
    dr_declared = False
    for r in resources:
        lab = labels_of(r)
        system = lab.get("system")
        if not system:
            continue
        if lab.get("role") == "dr":
            dr_declared = True
            if r.type == T_SERVER:
                dr_servers.add(system)
            if r.type == T_PORT:
                dr_ports.add(system)
        elif r.type == T_SERVER:
            primary[system] = lab
    out: list[Violation] = []
    for system, lab in sorted(primary.items()):
        tier = lab.get("dr", "none")
        if _mlps(lab) >= 3 and tier == "none":
            out.append(
                Violation(
                    "protected-systems-have-dr",
                    system,
                    f"MLPS level {lab['mlps']} system has DR tier none; give it backup/warm/hot",
                )
            )
        if dr_declared and tier == "hot" and system not in dr_servers:
            out.append(
                Violation(
                    "protected-systems-have-dr",
                    system,
                    "DR tier hot but no standby server in the DR centre",
                )
            )
        if dr_declared and tier == "warm" and system not in dr_ports:
            out.append(
                Violation(
                    "protected-systems-have-dr",
                    system,
                    "DR tier warm but no reserved standby port in the DR centre",
                )
            )
    return out


def check_all(resources: Iterable[Res]) -> list[Violation]:
    res = list(resources)
    out: list[Violation] = []
    for r in res:
        out.extend(check_labels(r))
    out.extend(check_intranet(res))
    out.extend(check_world_open(res))
    out.extend(check_dr(res))
    return out
