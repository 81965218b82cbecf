"""Strict pydantic models of the census files.

Three kinds of file live in `inventory/census/`:

- `sites.yml` (`SitesFile`): cities, machine rooms, target clouds, the DR centre, the target
  segments of the two e-government networks, shared platforms and (optionally) flavors;
- `networks.yml` (`NetworksFile`): the department-private networks;
- `dept-<id>.yml` (`DepartmentFile`): one department with its hosts and systems.

Models are strict (no silent coercion: a port written as "8080" is an error, not 8080) and forbid
unknown keys, so a typo is reported rather than ignored. Every string that later becomes a name,
a path or text has a pattern and a length limit (`onecloud.census._names`). Cross-file checks
(references, duplicate ids, overlapping CIDRs) live in `onecloud.census._checks`.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from onecloud.census._names import (
    MAX_HOSTS,
    Address,
    CityId,
    DataPath,
    DepartmentId,
    HealthPath,
    Id,
    Name,
    Reason,
    SystemId,
    TableName,
    Text,
    UserName,
    check_database_name,
)

Level = Literal["province", "city", "county", "township"]
CloudLevel = Literal["province", "city"]
CloudKind = Literal["public", "admin"]
NetworkKind = Literal["intranet", "extranet"]
Status = Literal["in_use", "zombie", "shadow", "unknown"]
Audience = Literal["public", "internal"]
Disposition = Literal["retire", "consolidate", "migrate", "retain"]
DbEngine = Literal["postgresql", "sqlite", "mysql"]
Protocol = Literal["tcp", "udp"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


# ---------------------------------------------------------------- sites.yml
class City(_Strict):
    id: CityId
    name: Text


class Room(_Strict):
    """A machine room to be folded into the cloud."""

    id: Id
    name: Text
    department: Id  # the department that runs it
    city: Id | None = None


class Cloud(_Strict):
    """A target cloud: public-service or administrative-service, at province or city level."""

    id: Id
    name: Text | None = None
    kind: CloudKind
    level: CloudLevel
    city: Id | None = None  # required for level city


class DrCenter(_Strict):
    id: Id
    name: Text
    city: Id | None = None


class SegmentSpec(_Strict):
    """A target subnet on one of the two e-government networks (plan addressing uses these)."""

    name: Id
    network: NetworkKind
    level: Level
    city: Id | None = None  # None: serves every city at this level
    cidr: Address
    gateway: Address | None = None  # default: the first usable address


class SharedPlatform(_Strict):
    """A province-wide platform that duplicated common systems are consolidated onto."""

    id: Id
    name: Text
    category: Name  # e.g. mail, video_conference


class FlavorSpec(_Strict):
    name: Name
    vcpus: int = Field(gt=0)
    ram_mb: int = Field(gt=0)
    disk_gb: int = Field(default=20, ge=0)


class SitesFile(_Strict):
    province: Text  # the province's name
    census_date: dt.date  # the date usage evidence is measured against
    stack: Id | None = None  # one stack carries every workload (e.g. "lab"); None: derived
    cities: list[City] = Field(default_factory=list)
    rooms: list[Room] = Field(default_factory=list)
    clouds: list[Cloud] = Field(default_factory=list)
    dr_center: DrCenter | None = None
    segments: list[SegmentSpec] = Field(default_factory=list)
    shared_platforms: list[SharedPlatform] = Field(default_factory=list)
    flavors: list[FlavorSpec] | None = None  # None: the standard oc.* flavors


# ---------------------------------------------------------------- networks.yml
class PrivateNetwork(_Strict):
    """A department-private network, folded into one of the two e-government networks."""

    id: Id
    name: Text | None = None
    department: Id
    cidrs: list[Address] = Field(min_length=1)
    classification: NetworkKind  # which e-government network it folds into
    egress: bool = False  # has its own internet egress point


class NetworksFile(_Strict):
    networks: list[PrivateNetwork] = Field(default_factory=list)


# ---------------------------------------------------------------- dept-<id>.yml
class Department(_Strict):
    id: DepartmentId
    name: Text
    level: Level
    city: Id | None = None  # required below province level


class Host(_Strict):
    """A legacy host."""

    id: Id
    address: Address
    ssh_user: UserName = "root"
    ssh_port: int = Field(default=22, gt=0, lt=65536)
    room: Id
    network: Id  # private network id
    os: Text
    cpus: int = Field(gt=0)
    memory_mb: int = Field(gt=0)
    disk_gb: int = Field(ge=0)


class Usage(_Strict):
    """Evidence of use; decides whether an `unknown` system is alive."""

    last_access: dt.date | None = None
    active_users: int | None = Field(default=None, ge=0)
    cpu_percent: float | None = Field(default=None, ge=0, le=100)


class Service(_Strict):
    name: Name  # the init script /etc/init.d/<name>
    port: int = Field(gt=0, lt=65536)
    protocol: Protocol = "tcp"
    health_path: HealthPath | None = None
    public: bool = False


class Database(_Strict):
    engine: DbEngine
    name: str  # a database name, or the file path of a SQLite database
    tables: list[TableName] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name_fits_engine(cls, value: str, info: ValidationInfo) -> str:
        return check_database_name(info.data.get("engine"), value)


class Data(_Strict):
    paths: list[DataPath] = Field(default_factory=list)
    size_gb: float = Field(default=0.0, ge=0)
    databases: list[Database] = Field(default_factory=list)


class Override(_Strict):
    """A person's decision that beats the rules; the reason goes into the plan."""

    disposition: Disposition
    reason: Reason


class System(_Strict):
    id: SystemId
    name: Text
    category: Name | None = None  # e.g. mail, video_conference, portal, business
    workload: Name | None = None  # what runs it (e.g. webapp); informative
    hosts: list[Id] = Field(default_factory=list, max_length=MAX_HOSTS)
    status: Status
    usage: Usage = Field(default_factory=Usage)
    audience: Audience
    protection_level: int = Field(ge=1, le=4)  # MLPS level
    data: Data = Field(default_factory=Data)
    services: list[Service] = Field(default_factory=list)
    depends_on: list[SystemId] = Field(default_factory=list)
    rpo_minutes: int | None = Field(default=None, ge=0)
    rto_minutes: int | None = Field(default=None, ge=0)
    owner: Text | None = None
    deadline: dt.date | None = None
    override: Override | None = None


class DepartmentFile(_Strict):
    department: Department
    hosts: list[Host] = Field(default_factory=list)
    systems: list[System] = Field(default_factory=list)


# ---------------------------------------------------------------- the whole census
class Census(BaseModel):
    """Everything the loader read, validated and cross-checked. Built by `load_census`."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    sites: SitesFile
    networks: list[PrivateNetwork]
    departments: list[Department]
    hosts: list[Host]
    systems: list[System]
    system_department: dict[str, str]  # system id -> department id (the file it is kept in)
    host_department: dict[str, str]  # host id -> department id
    digest: str  # sha256 over the census files (name and bytes)
    #: where each system, host, department and network was declared: id -> "file:line"
    origins: dict[str, str] = Field(default_factory=dict)

    def is_retired_status(self, system: System) -> bool:
        """Zombie and shadow systems are shut down unless a person overrides it."""
        return system.status in ("zombie", "shadow") and (
            system.override is None or system.override.disposition == "retire"
        )
