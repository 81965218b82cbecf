"""The stack config: one pydantic model, validated before the program declares anything.

Pulumi hands the program its config as a flat mapping `namespace:key -> string` (objects and
lists arrive as JSON text). `load_stack_config` turns that into `StackConfig` or raises one
`ConfigError` that names the key, the stack file (with its line when the key is written there)
and the valid values, so an operator fixes a typo without reading a traceback.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from onecloud.errors import ConfigError

__all__ = [
    "COMPONENTS",
    "NAMESPACE",
    "ImageConfig",
    "StackConfig",
    "TenancyScope",
    "load_stack_config",
]

NAMESPACE = "onecloud"
Component = Literal["network", "catalog", "tenancy", "workloads", "dr"]
#: what a stack can declare, in the order the program builds them
COMPONENTS: tuple[Component, ...] = ("network", "catalog", "tenancy", "workloads", "dr")


class _Cfg(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ImageConfig(_Cfg):
    """The shared base image: uploaded from `file` by the catalog, or looked up by `name`."""

    name: str = "onecloud-base"
    #: a local image file to upload; "builtin" writes a tiny raw image (the lab's fake hypervisor
    #: boots anything); None: look the image up by name (it was uploaded elsewhere)
    file: str | None = "builtin"
    disk_format: Literal["raw", "qcow2"] = Field("raw", alias="diskFormat")


class TenancyScope(_Cfg):
    """Which of the plan's department projects this stack declares."""

    clouds: list[Literal["public", "admin"]] = ["public", "admin"]
    levels: list[Literal["province", "city"]] = ["province", "city"]
    #: city names; empty means every city (only matters when `levels` has "city")
    cities: list[str] = Field(default_factory=list)


class DrConfig(_Cfg):
    #: the second region of the catalog where the DR centre lives
    region: str = "RegionDR"
    #: standby servers for these DR tiers; warm systems get reserved ports and quota only
    standby: list[Literal["hot", "warm"]] = ["hot"]
    #: "mirror": standby ports keep the planned addresses (fail over without renumbering);
    #: "pool": Neutron picks addresses from the mirrored subnets
    addressing: Literal["mirror", "pool"] = "mirror"


#: where a stack admits SSH from when it does not say (`onecloud:managementCidrs`)
DEFAULT_MANAGEMENT_CIDRS = ("198.18.0.0/15",)


class StackConfig(_Cfg):
    """Everything one stack needs; keys are the `onecloud:` keys of `stacks/Pulumi.<stack>.yaml`."""

    stack: str
    #: the clouds.yaml entry (`openstack:cloud`)
    cloud: str
    #: the plan file, relative to the project (default: `onecloud.paths.plan_file()`)
    plan: str | None = None
    declare: list[Component]
    region: str = "RegionOne"
    external_network: str = Field("public", alias="externalNetwork")
    #: StackReference name of the stack that declares the network segments (and catalog),
    #: e.g. "organization/onecloud/province-network"; needed when this stack does not declare them
    network_stack: str | None = Field(None, alias="networkStack")
    #: plan stack names whose systems this stack carries; "*" carries every migrated system
    carries: list[str] = Field(default_factory=list)
    #: wave numbers; empty means every wave
    waves: list[int] = Field(default_factory=list)
    tenancy: TenancyScope = TenancyScope()
    image: ImageConfig = ImageConfig.model_validate({})
    dr: DrConfig = DrConfig()
    #: where operators and the migration runner come from (SSH and ICMP are allowed from here)
    management_cidrs: list[str] = Field(
        default_factory=lambda: list(DEFAULT_MANAGEMENT_CIDRS), alias="managementCidrs"
    )
    #: CIDR of a management network joined to every segment's router (the network component
    #: declares it); the lab's controller reaches the servers through it
    management_network: str | None = Field(None, alias="managementNetwork")
    #: DHCP on the segments; off by default: the plan addresses every port, and DHCP ports
    #: would take addresses the plan hands out
    dhcp: bool = False
    volume_type: str = Field("oc-standard", alias="volumeType")
    department_admin_role: str = Field("member", alias="departmentAdminRole")
    operator_role: str = Field("admin", alias="operatorRole")
    protect_volumes: bool = Field(True, alias="protectVolumes")

    @field_validator("declare")
    @classmethod
    def _declare(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("declare at least one of " + ", ".join(COMPONENTS))
        if len(set(v)) != len(v):
            raise ValueError("lists a component twice")
        return [c for c in COMPONENTS if c in v]

    @field_validator("management_cidrs")
    @classmethod
    def _cidrs(cls, v: list[str]) -> list[str]:
        return [str(ipaddress.ip_network(c, strict=True)) for c in v]

    @field_validator("management_network")
    @classmethod
    def _management_network(cls, v: str | None) -> str | None:
        if v is None:
            return None
        net = ipaddress.ip_network(v, strict=True)
        if net.prefixlen > 28:
            raise ValueError("leaves too few addresses; use a /28 or larger")
        return str(net)

    @field_validator("waves")
    @classmethod
    def _waves(cls, v: list[int]) -> list[int]:
        if any(w < 0 for w in v):
            raise ValueError("wave numbers are 0 or more")
        return sorted(set(v))

    @model_validator(mode="after")
    def _needs(self) -> StackConfig:
        d = set(self.declare)
        if "workloads" in d and "network" not in d and not self.network_stack:
            raise ValueError(
                "networkStack is required when the stack declares workloads without the "
                "network (e.g. organization/onecloud/province-network)"
            )
        return self

    def carries_system(self, plan_stack: str | None) -> bool:
        carries = self.carries or [self.stack]
        return "*" in carries or (plan_stack is not None and plan_stack in carries)

    def in_waves(self, wave: int | None) -> bool:
        return not self.waves or (wave is not None and wave in self.waves)

    def has(self, component: Component) -> bool:
        return component in self.declare


# key in the stack file -> field name, for messages
_ALIASES = {
    (f.alias or name): name
    for name, f in StackConfig.model_fields.items()
    if name not in {"stack", "cloud"}
}


def _decode(value: Any) -> Any:
    """Config values arrive as strings; objects, lists, numbers and booleans as JSON text."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text[:1] in "[{" or text in {"true", "false", "null"} or re.fullmatch(r"-?\d+", text):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return value
    return value


def _line_of(stack_file: Path | None, key: str) -> int | None:
    if stack_file is None or not stack_file.is_file():
        return None
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*:")
    for n, line in enumerate(stack_file.read_text(encoding="utf-8").splitlines(), 1):
        if pattern.match(line):
            return n
    return None


def _where(stack_file: Path | None, key: str) -> str:
    if stack_file is None:
        return key
    line = _line_of(stack_file, key)
    return f"{stack_file}:{line}: {key}" if line else f"{stack_file}: {key}"


def _valid_values(field: str) -> str:
    hints = {
        "declare": "a list of " + ", ".join(COMPONENTS),
        "tenancy": '{"clouds": [public|admin], "levels": [province|city], "cities": [...]}',
        "image": '{"name": ..., "file": builtin|<path>|null, "diskFormat": raw|qcow2}',
        "dr": '{"region": ..., "standby": [hot|warm], "addressing": mirror|pool}',
        "waves": "a list of wave numbers, e.g. [1, 2]; [] for every wave",
        "carries": 'a list of plan stack names, or ["*"] for every migrated system',
        "management_cidrs": "a list of CIDRs, e.g. [198.18.0.0/15]",
        "management_network": "a CIDR of /28 or larger, e.g. 198.18.144.0/24",
    }
    return hints.get(field, "")


def load_stack_config(
    raw: Mapping[str, Any], stack: str, stack_file: Path | None = None
) -> StackConfig:
    """Validate the engine's config mapping (`ns:key -> value`) for `stack`.

    Raises ConfigError naming the key, `stack_file` (and line) and the valid values.
    """
    ours: dict[str, Any] = {}
    unknown: list[str] = []
    for full_key, value in raw.items():
        ns, _, key = full_key.partition(":")
        if ns != NAMESPACE:
            continue
        if key not in _ALIASES:
            unknown.append(key)
        ours[key] = _decode(value)
    if unknown:
        key = sorted(unknown)[0]
        raise ConfigError(
            f"{_where(stack_file, f'{NAMESPACE}:{key}')}: unknown config key",
            hint="valid keys: " + ", ".join(f"{NAMESPACE}:{k}" for k in sorted(_ALIASES)),
        )
    cloud = raw.get("openstack:cloud")
    if not cloud:
        raise ConfigError(
            f"{_where(stack_file, 'openstack:cloud')}: missing",
            hint="set the clouds.yaml entry: pulumi config set openstack:cloud onecloud-lab",
        )
    try:
        return StackConfig.model_validate({**ours, "stack": stack, "cloud": _decode(cloud)})
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = [str(p) for p in err["loc"]]
        field = _ALIASES.get(loc[0], loc[0]) if loc else ""  # pydantic reports the alias
        key = next((k for k, f in _ALIASES.items() if f == field), field)
        sub = "." + ".".join(loc[1:]) if len(loc) > 1 else ""
        what = f"{NAMESPACE}:{key}" if key else f"{NAMESPACE} config"
        msg = str(err["msg"]).removeprefix("Value error, ")
        got = (
            f" (got {err['input']!r})"
            if key and "input" in err and not isinstance(err["input"], dict)
            else ""
        )
        valid = _valid_values(field)
        raise ConfigError(
            f"{_where(stack_file, what)}{sub}: {msg}{got}",
            hint=f"valid values: {valid}" if valid else "see docs/stacks.md for every key",
        ) from None
