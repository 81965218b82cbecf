"""The plan: the reviewed file that Pulumi stacks and the migration runner read.

This module is the contract between `onecloud.plan` (which writes it), `onecloud.iac` (which
declares resources from it) and `onecloud.migrate` / `onecloud.verify` (which move and prove
systems). Keep it small, explicit and stable: every list is sorted so diffs review well.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Disposition = Literal["retire", "consolidate", "migrate", "retain"]
CloudKind = Literal["public", "admin"]  # public-service cloud / administrative-service cloud
Level = Literal["province", "city", "county", "township"]
NetworkKind = Literal["intranet", "extranet"]  # the two e-government networks
DrTier = Literal["none", "backup", "warm", "hot"]
DbEngine = Literal["postgresql", "sqlite", "mysql"]

PLAN_VERSION = 1


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Segment(_Model):
    """A target subnet on one of the two e-government networks."""

    name: str  # e.g. "extranet-province", "intranet-city-nanhai"
    network: NetworkKind
    level: Level
    city: str | None = None
    cidr: str  # e.g. "198.19.0.0/24"
    gateway: str  # first usable address


class Service(_Model):
    name: str  # init script name on the host, e.g. "webapp"
    port: int
    protocol: Literal["tcp", "udp"] = "tcp"
    health_path: str | None = None  # HTTP path answering 200 when healthy, e.g. "/health"
    public: bool = False  # reachable from the internet (extranet public-service only)


class Database(_Model):
    engine: DbEngine
    name: str  # database name (postgresql) or file path (sqlite)
    tables: list[str] = Field(default_factory=list)  # tables whose row counts verify the copy


class DataSpec(_Model):
    paths: list[str] = Field(default_factory=list)  # absolute paths of the data trees
    size_gb: float = 0.0
    databases: list[Database] = Field(default_factory=list)


class SourceHost(_Model):
    """A legacy host the system leaves."""

    id: str
    address: str
    ssh_user: str = "root"
    ssh_port: int = 22
    room: str  # machine room id
    cpus: int
    memory_mb: int
    disk_gb: int


class TargetServer(_Model):
    """A server the workload stack declares for the system, at a planned fixed address."""

    name: str  # Nova server name and the SSH host name, e.g. "edu-portal-1"
    address: str  # planned fixed IP on `segment`
    flavor: str
    volume_gb: int  # data volume size (0: none)


class PlannedSystem(_Model):
    id: str
    name: str
    department: str
    disposition: Disposition
    reason: str  # why: the evidence or rule that decided the disposition
    status: str  # census status: in_use, zombie, shadow, unknown
    audience: Literal["public", "internal"]
    protection_level: int  # MLPS 1..4
    # placement (None for retired/consolidated systems)
    cloud: CloudKind | None = None
    level: Literal["province", "city"] | None = None
    city: str | None = None
    segment: str | None = None  # Segment.name
    project: str | None = None  # ProjectPlan.name
    stack: str | None = None  # the Pulumi stack that carries its workloads
    wave: int | None = None
    dr_tier: DrTier = "none"
    consolidate_into: str | None = None  # shared platform id for "consolidate"
    floating_ip: bool = False  # public-facing extranet system
    sources: list[SourceHost] = Field(default_factory=list)
    targets: list[TargetServer] = Field(default_factory=list)
    services: list[Service] = Field(default_factory=list)
    data: DataSpec = Field(default_factory=DataSpec)
    depends_on: list[str] = Field(default_factory=list)
    rpo_minutes: int | None = None
    rto_minutes: int | None = None
    owner: str | None = None
    deadline: str | None = None  # ISO date
    # additions (census part): informative, all defaulted
    category: str | None = None  # e.g. mail, video_conference, portal, business
    workload: str | None = None  # what runs it on the host, e.g. "webapp"
    placement_reason: str | None = None  # why this cloud and segment
    dr_reason: str | None = None  # why this DR tier
    home_city: str | None = None  # the department's city (None: a province department)


class Quota(_Model):
    instances: int
    cores: int
    ram_mb: int
    volumes: int
    gigabytes: int
    floating_ips: int = 0


class ProjectPlan(_Model):
    """A department's project in one cloud (Keystone: domain/parent project by level)."""

    name: str  # e.g. "public-province-edu"
    department: str
    department_name: str
    cloud: CloudKind
    level: Literal["province", "city"]
    city: str | None = None
    quota: Quota


class Wave(_Model):
    number: int
    systems: list[str]
    data_gb: float
    rooms_vacated: list[str] = Field(default_factory=list)
    networks_vacated: list[str] = Field(default_factory=list)
    deadline: str | None = None  # earliest deadline of its systems (ISO date)
    notes: list[str] = Field(default_factory=list)  # e.g. a dependency cycle above the bounds


class Flavor(_Model):
    """A Nova flavor the plan sizes servers with (the workload stacks declare them)."""

    name: str  # e.g. "oc.small"
    vcpus: int
    ram_mb: int
    disk_gb: int


class SharedPlatform(_Model):
    """A province-wide platform that duplicated common systems are consolidated onto."""

    id: str  # e.g. "shared-mail"
    name: str
    category: str
    systems: list[str]  # the consolidated systems, sorted
    data_gb: float = 0.0  # data to move onto the platform


class Renumbering(_Model):
    network: str  # department-private network id
    cidr: str
    overlaps_with: list[str]  # other private networks whose CIDRs overlap


class Totals(_Model):
    systems: int
    retired: int
    consolidated: int
    migrated: int
    retained: int
    rooms_before: int
    rooms_vacated: int
    networks_before: int
    networks_folded: int
    egress_before: int
    egress_after: int


class Plan(_Model):
    version: int = PLAN_VERSION
    census_digest: str  # sha256 of the census files it was derived from
    segments: list[Segment]
    projects: list[ProjectPlan]
    systems: list[PlannedSystem]
    waves: list[Wave]
    renumbered: list[Renumbering] = Field(default_factory=list)
    totals: Totals
    # additions (census part): all defaulted
    flavors: list[Flavor] = Field(default_factory=list)
    platforms: list[SharedPlatform] = Field(default_factory=list)
    dr_center: str | None = None  # the shared disaster-recovery centre's id

    def system(self, system_id: str) -> PlannedSystem:
        for s in self.systems:
            if s.id == system_id:
                return s
        raise KeyError(system_id)

    def wave_systems(self, number: int) -> list[PlannedSystem]:
        return [s for s in self.systems if s.wave == number and s.disposition == "migrate"]
