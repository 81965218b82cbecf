"""What the lab cloud is made of: directories, ports, regions, address ranges. Pure data.

Everything lives under `<lab_dir>/cloud` so that `down --purge` can remove it in one go,
except `clouds.yaml`, which sits at `<lab_dir>/clouds.yaml` where the rest of onecloud looks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

#: the clouds.yaml entry with admin credentials in the first region, and the one for the second
CLOUD_NAME = "onecloud-lab"
CLOUD_NAME_DR = "onecloud-lab-dr"
#: the lab stands in for the province's cloud too: the entry the province's stacks name
#: (`openstack:cloud: onecloud-province`), so they deploy to the lab unchanged
CLOUD_NAME_PROVINCE = "onecloud-province"
REGION = "RegionOne"
REGION_DR = "RegionDR"

#: Debian's OpenStack runs on Debian's interpreter, whatever `python3` is on PATH
SYSTEM_PYTHON = "/usr/bin/python3"


@dataclass(frozen=True)
class Network:
    """The external (provider, flat) network that floating IPs and router gateways come from.

    198.18.0.0/15 is the benchmarking range: nothing outside this machine routes it.
    """

    name: str = "public"
    physnet: str = "public"
    cidr: str = "198.18.128.0/20"
    gateway: str = "198.18.128.1"
    pool_start: str = "198.18.128.10"
    pool_end: str = "198.18.143.250"
    #: the veth pair the linuxbridge agent maps the public physical network to (<= 15 chars);
    #: tenant networks are `local` (one bridge each, no uplink: docs/lab.md)
    public_iface: str = "oclpub0"


@dataclass(frozen=True)
class Ports:
    mysql: int = 3306
    rabbit: int = 5672
    epmd: int = 4369
    rabbit_dist: int = 25672
    memcached: int = 11211
    keystone: int = 5000
    placement: int = 8778
    nova: int = 8774
    neutron: int = 9696
    glance: int = 9292
    cinder: int = 8776


@dataclass(frozen=True)
class Layout:
    """Paths under the lab directory. `root` is `<lab_dir>/cloud`."""

    lab_dir: Path
    root: Path = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", self.lab_dir / "cloud")

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    @property
    def log(self) -> Path:
        return self.root / "log"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def agent_path(self) -> Path:
        """First on the Neutron agents' PATH: the lab's `ebtables` (see _render.py)."""
        return self.bin / "agent-path"

    @property
    def python(self) -> Path:
        """Our own modules for Debian's Python (the Cinder fake backend)."""
        return self.root / "python"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets.json"

    @property
    def initialized(self) -> Path:
        """Marker: databases created and synced, catalog registered (first boot done)."""
        return self.root / "initialized"

    @property
    def lock(self) -> Path:
        return self.lab_dir / "cloud.lock"

    @property
    def clouds_yaml(self) -> Path:
        return self.lab_dir / "clouds.yaml"

    @property
    def mysql_socket(self) -> Path:
        return self.data / "mysql-run" / "mysqld.sock"

    def conf(self, service: str, name: str | None = None) -> Path:
        """The config file of `service` (e.g. conf("nova") -> etc/nova/nova.conf)."""
        return self.etc / service / (name or f"{service}.conf")

    def logfile(self, name: str) -> Path:
        return self.log / f"{name}.log"

    def pidfile(self, name: str) -> Path:
        return self.run / f"{name}.json"


@dataclass(frozen=True)
class Settings:
    """Everything the templates and the service table need, besides the secrets."""

    layout: Layout
    ports: Ports = Ports()
    network: Network = Network()
    host: str = "127.0.0.1"
    region: str = REGION
    region_dr: str = REGION_DR
    #: nova-compute's host name (the hypervisor the fake driver reports)
    compute_host: str = "lab-compute-1"
    db_user: str = "onecloud"

    def url(self, port: int, path: str = "") -> str:
        return f"http://{self.host}:{port}{path}"

    @property
    def auth_url(self) -> str:
        return self.url(self.ports.keystone, "/v3")


#: databases created on first boot, one per service (Nova has three)
DATABASES = (
    "keystone",
    "placement",
    "nova_api",
    "nova",
    "nova_cell0",
    "neutron",
    "glance",
    "cinder",
)

#: OpenStack service users registered in the `service` project
SERVICE_USERS = ("nova", "placement", "neutron", "glance", "cinder")
